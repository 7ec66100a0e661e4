// A hostile tenant: each route tries one way out of its sandbox and reports
// what happened, so tests can check that every attempt failed. (Sockets are
// tried by hostile-net.c: importing them gets a module refused at admission.)
//   /read?PATH       open and read PATH (try ../other, /abs, host paths)
//   /symlink?TARGET  make /esc -> TARGET, then read /esc/secret and /esc
//   /spin            loop forever (ends by fuel or deadline)
//   /grow            grow memory until refused, then abort
//   /flood           write to stdout without end
//   /stderr          64 KiB to stderr (the server logs a rate-limited excerpt)
//   /no-headers      a body without headers
//   /bad-headers     a header line without a colon
//   /exit            exit with status 3
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *query(void) {
  const char *q = getenv("QUERY_STRING");
  static char out[1024];
  size_t j = 0;
  // Percent-decoding, so a test can pass any path.
  for (size_t i = 0; q && q[i] && j + 1 < sizeof out; i++) {
    if (q[i] == '%' && q[i + 1] && q[i + 2]) {
      char hex[3] = {q[i + 1], q[i + 2], 0};
      out[j++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else out[j++] = q[i];
  }
  out[j] = 0;
  return out;
}

static void try_read(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { printf("%s: refused (%s)\n", path, strerror(errno)); return; }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) { printf("%s: opened, read refused (%s)\n", path, strerror(errno)); return; }
  buf[n] = 0;
  printf("%s: ESCAPED read %zd bytes: %s\n", path, n, buf);
}

int main(void) {
  const char *route = getenv("PATH_INFO");
  if (!route) route = "/";
  if (strcmp(route, "/read") == 0) {
    printf("Content-Type: text/plain\n\n");
    try_read(query());
    return 0;
  }
  if (strcmp(route, "/symlink") == 0) {
    printf("Content-Type: text/plain\n\n");
    unlink("/esc");
    if (symlink(query(), "/esc") != 0) printf("symlink: refused (%s)\n", strerror(errno));
    try_read("/esc/secret");
    try_read("/esc/kv/secret");
    try_read("/esc");
    unlink("/esc");
    return 0;
  }
  if (strcmp(route, "/spin") == 0) {
    volatile unsigned long n = 0;
    for (;;) n++;
  }
  if (strcmp(route, "/grow") == 0) {
    while (__builtin_wasm_memory_grow(0, 16) != (size_t)-1) {}
    abort();
  }
  if (strcmp(route, "/flood") == 0) {
    printf("Content-Type: text/plain\n\n");
    static char block[65536];
    memset(block, 'x', sizeof block);
    for (;;) fwrite(block, 1, sizeof block, stdout);
  }
  if (strcmp(route, "/stderr") == 0) {
    static char noise[65536];
    memset(noise, 'e', sizeof noise);
    fwrite(noise, 1, sizeof noise, stderr);
    printf("Content-Type: text/plain\n\nwrote to stderr\n");
    return 0;
  }
  if (strcmp(route, "/no-headers") == 0) { printf("just a body\n"); return 0; }
  if (strcmp(route, "/bad-headers") == 0) { printf("Content-Type text/plain\n\nbody\n"); return 0; }
  if (strcmp(route, "/exit") == 0) { printf("Content-Type: text/plain\n\n"); return 3; }
  printf("Status: 404 Not Found\nContent-Type: text/plain\n\nno such attack\n");
  return 0;
}
