// Transparent huge pages for the two places a run first touches tens of
// megabytes: allocate(length) -> an ArrayBuffer of `length` zeroed bytes for a
// large file read whole (a module), from an anonymous mapping aligned to 2 MiB
// and advised MADV_HUGEPAGE; adviseHuge(buffer, reserved) -> the same advice over
// a guest's linear memory, up to what the engine reserved for it to grow into.
//
// Why: a fresh buffer takes a page fault per 4 KiB page on first touch, and on
// this kind of machine a fault costs 10-15 µs; reading a 31 MB module into one
// took 80-90 ms, almost all of it faults (7,500), where with huge pages the same
// read takes 15 faults (docs/RATIONALE.md). The memory is the process's own and
// the file's bytes are copied into it by read(2), as into any buffer: nothing
// maps the file itself (a file changed or truncated under a mapping would change
// the bytes after they were judged, or raise SIGBUS).
//
// Returns null when the mapping fails; the caller then allocates as usual. The
// mapping is unmapped when the ArrayBuffer is collected (V8 counts an
// ArrayBuffer's length as external memory whoever allocated it, so collection
// comes as it would for a buffer of its own; test/wasi/huge-pages.test.ts).
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <node_api.h>

#define HUGE_PAGE ((size_t)2 << 20)

typedef struct {
  void *mapping;
  size_t mapped;
} Mapping;

static void release(napi_env env, void *data, void *hint) {
  Mapping *m = hint;
  munmap(m->mapping, m->mapped);
  free(m);
}

/** allocate(length): an ArrayBuffer of length zeroed bytes on huge pages, or null. */
static napi_value allocate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_null(env, &result);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return result;
  double requested;
  if (napi_get_value_double(env, argv[0], &requested) != napi_ok) return result;
  // Whole bytes, at least one, below 2^40: anything else is the caller's mistake, answered with null.
  if (!(requested >= 1 && requested < (double)((uint64_t)1 << 40)) || requested != (double)(uint64_t)requested) return result;
  size_t length = (size_t)requested;
  // One huge page more than asked, so that an aligned start fits inside the mapping.
  size_t mapped = (length + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE + HUGE_PAGE;
  void *mapping = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) return result;
  char *start = (char *)(((uintptr_t)mapping + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  // Advice only: where huge pages are off or none is free, the pages are ordinary ones.
  madvise(start, mapped - (size_t)(start - (char *)mapping), MADV_HUGEPAGE);
  Mapping *m = malloc(sizeof *m);
  if (!m) {
    munmap(mapping, mapped);
    return result;
  }
  m->mapping = mapping;
  m->mapped = mapped;
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, start, length, release, m, &buffer) != napi_ok) {
    munmap(mapping, mapped);
    free(m);
    return result;
  }
  return buffer;
}

/**
 * adviseHuge(buffer, reserved): advises MADV_HUGEPAGE over the 2 MiB-aligned part of
 * [buffer's start, start + reserved), `reserved` being what the engine reserved for the
 * buffer to grow into (a guest's linear memory). True when the kernel took the advice.
 */
static napi_value advise_huge(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  napi_get_boolean(env, false, &result);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return result;
  void *data;
  size_t length;
  bool is_buffer;
  if (napi_is_arraybuffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) return result;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok || data == NULL) return result;
  double reserved;
  if (napi_get_value_double(env, argv[1], &reserved) != napi_ok || !(reserved >= (double)length && reserved <= (double)((uint64_t)1 << 32))) return result;
  uintptr_t start = ((uintptr_t)data + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  uintptr_t end = ((uintptr_t)data + (uintptr_t)reserved) & ~(uintptr_t)(HUGE_PAGE - 1);
  if (end <= start) return result;
  napi_get_boolean(env, madvise((void *)start, end - start, MADV_HUGEPAGE) == 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "allocate", NAPI_AUTO_LENGTH, allocate, NULL, &fn);
  napi_set_named_property(env, exports, "allocate", fn);
  napi_create_function(env, "adviseHuge", NAPI_AUTO_LENGTH, advise_huge, NULL, &fn);
  napi_set_named_property(env, exports, "adviseHuge", fn);
  return exports;
}
