// wimg: a small decoder for WIMG, a chunked grayscale image format, written
// as an example of the C bugs that survive compilation to WebAssembly. It has
// three deliberate, realistic bugs (each marked BUG below):
//
//   1. 'C' (comment) chunks trust their length field for the copy out of the
//      input buffer: a length past the end of the file reads whatever the heap
//      holds after it (the decoder's licence key).
//   2. 'T' (tile) chunks check `offset + size <= OVERLAY_SIZE` with a signed
//      offset: a negative offset writes below the overlay buffer, into the
//      module's other static data, its read-only data or the null page.
//   3. 'G' (group) chunks nest without a depth limit, and each level keeps a
//      row buffer on the shadow stack: deep nesting runs the stack down into
//      static data.
//
// File: "WIMG", u16 width, u16 height (little-endian), then chunks of
// u8 tag, u16 length, payload. 'D' holds the pixels as rows of one filter
// byte (0 none, 1 sub, 2 up, 3 average, 4 paeth) and `width` bytes.
//
// Usage: wimg FILE   prints the header, comments, a histogram and a checksum.
// Built with -DWIMG_WAGI (wimg-wagi.wasm) it is a `warden serve` tenant instead:
// the image is the request body (CONTENT_LENGTH bytes on stdin), the report the
// response.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERLAY_SIZE 4096

struct decoder {
  char licence[48];          // the module's own secret, copied from static data
  uint32_t width, height;
  uint8_t *pixels;
  uint32_t comments;
};

static const char LICENCE_KEY[] = "WIMG-LICENCE-7f3a9c51e2d84b06";
static const char *const VERDICTS[] = {"image is clean", "image has warnings"};
uint8_t overlay[OVERLAY_SIZE]; // exported (its address), so the crafted inputs can be computed
static uint32_t overlay_checksum;

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static int32_t rd32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24); }

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int decode_pixels(struct decoder *d, const uint8_t *p, uint32_t len) {
  uint32_t w = d->width, h = d->height;
  if (len < (uint64_t)h * (w + 1)) return -1;
  d->pixels = malloc((size_t)w * h);
  if (!d->pixels) return -1;
  for (uint32_t y = 0; y < h; y++) {
    const uint8_t *in = p + (size_t)y * (w + 1) + 1;
    uint8_t *row = d->pixels + (size_t)y * w;
    const uint8_t *up = y ? row - w : NULL;
    uint8_t filter = in[-1];
    for (uint32_t x = 0; x < w; x++) {
      uint8_t a = x ? row[x - 1] : 0, b = up ? up[x] : 0, c = (x && up) ? up[x - 1] : 0;
      uint8_t v = in[x];
      switch (filter) {
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (uint8_t)((a + b) / 2); break;
        case 4: v += paeth(a, b, c); break;
        default: break;
      }
      row[x] = v;
    }
  }
  return 0;
}

static void comment(struct decoder *d, const uint8_t *p, uint32_t len) {
  // BUG 1: `len` comes from the file and is not checked against the bytes
  // that remain; the copy reads past the end of the input buffer.
  char *text = malloc(len + 1);
  if (!text) return;
  memcpy(text, p, len);
  text[len] = 0;
  printf("comment %u: ", ++d->comments);
  fwrite(text, 1, len, stdout);
  putchar('\n');
  free(text);
}

static int tile(const uint8_t *p, uint32_t len) {
  if (len < 4) return -1;
  int32_t offset = rd32(p);
  int32_t size = (int32_t)len - 4;
  // BUG 2: signed arithmetic; a negative offset passes this check.
  if (offset + size > OVERLAY_SIZE) return -1;
  memcpy(overlay + offset, p + 4, (size_t)size);
  return 0;
}

static int parse(struct decoder *d, const uint8_t *p, const uint8_t *end, int depth);

static int group(struct decoder *d, const uint8_t *p, uint32_t len, int depth) {
  // BUG 3: no depth limit; every level keeps a row of scratch on the stack.
  volatile uint8_t scratch[512];
  for (int i = 0; i < 512; i++) scratch[i] = (uint8_t)(depth + i);
  int r = parse(d, p, p + len, depth + 1);
  return r + (scratch[depth & 511] & 0);
}

static int parse(struct decoder *d, const uint8_t *p, const uint8_t *end, int depth) {
  while (end - p >= 3) {
    uint8_t tag = p[0];
    uint32_t len = rd16(p + 1);
    p += 3;
    int r = 0;
    switch (tag) {
      case 'C': comment(d, p, len); break;
      case 'T': r = len <= (uint32_t)(end - p) ? tile(p, len) : -1; break;
      case 'G': r = len <= (uint32_t)(end - p) ? group(d, p, len, depth) : -1; break;
      case 'D': r = decode_pixels(d, p, (uint32_t)(end - p)); len = (uint32_t)(end - p); break;
      default: break;
    }
    if (r < 0) return r;
    if (len > (uint32_t)(end - p)) return 0;
    p += len;
  }
  return 0;
}

#ifdef WIMG_WAGI
int main(void) {
  const char *length = getenv("CONTENT_LENGTH");
  long size = length ? atol(length) : 0;
  if (size < 8 || size > (1 << 24)) { fputs("Status: 400\nContent-Type: text/plain\n\nnot a WIMG image\n", stdout); return 0; }
  uint8_t *file = malloc((size_t)size);
  // The decoder's state is allocated right after the input: it sits just past it on the heap.
  struct decoder *d = calloc(1, sizeof *d);
  if (!file || !d || fread(file, 1, (size_t)size, stdin) != (size_t)size) return 1;
  memcpy(d->licence, LICENCE_KEY, sizeof LICENCE_KEY);
  fputs("Content-Type: text/plain\n\n", stdout);
#else
int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: wimg FILE\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (size < 8) { fprintf(stderr, "wimg: too short\n"); return 1; }
  uint8_t *file = malloc((size_t)size);
  // The decoder's state is allocated right after the input: it sits just past it on the heap.
  struct decoder *d = calloc(1, sizeof *d);
  if (!file || !d || fread(file, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "wimg: read failed\n"); return 1; }
  fclose(f);
  memcpy(d->licence, LICENCE_KEY, sizeof LICENCE_KEY);
#endif
  if (memcmp(file, "WIMG", 4) != 0) { fprintf(stderr, "wimg: not a WIMG file\n"); return 1; }
  d->width = rd16(file + 4);
  d->height = rd16(file + 6);
  printf("WIMG %ux%u\n", d->width, d->height);
  if (parse(d, file + 8, file + size, 0) < 0) { fprintf(stderr, "wimg: malformed chunk\n"); return 1; }
  if (d->pixels) {
    uint32_t histogram[8] = {0}, checksum = 2166136261u;
    for (size_t i = 0; i < (size_t)d->width * d->height; i++) {
      histogram[d->pixels[i] >> 5]++;
      checksum = (checksum ^ d->pixels[i]) * 16777619u;
    }
    printf("histogram:");
    for (int i = 0; i < 8; i++) printf(" %u", histogram[i]);
    printf("\nchecksum: %08x\n", checksum);
  }
  for (int i = 0; i < OVERLAY_SIZE; i++) overlay_checksum = overlay_checksum * 31 + overlay[i];
  printf("overlay: %08x\n", overlay_checksum);
  printf("%s\n", VERDICTS[d->comments > 3]);
  return 0;
}
