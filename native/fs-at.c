// One-name file operations beneath a held directory descriptor (openat,
// fstatat, unlinkat) and positioned reads and writes of open files (fstat,
// pread, pwrite), for wasm-warden's WASI layer (src/wasi/fs/native-at.ts). Node has no *at calls, so without this helper
// each name is reached through /proc/self/fd/<dirfd>/<name>, and each call
// runs Node's fs wrappers and builds a Stats object with four Dates: in a
// fresh process, warming those up cost more than the system calls.
//
// Every call returns a number: >= 0 on success (a descriptor, or 0), -errno on
// failure. Nothing is thrown for a failed system call (a thrown error builds a
// stack trace). Stats are written into a caller's Float64Array of STAT_SLOTS:
// first dev and ino as unsigned 64-bit integers and the three times in ns
// since the epoch as signed ones (read through 64-bit integer arrays over the
// same buffer: exact, which a double of a 64-bit value would not be), then mode, nlink, size, blocks, blksize as
// doubles.
//
// Descriptors it opens, it owns until they are closed through it (close): each
// thread (the main thread, each worker: one Node environment each) keeps the set
// of those still open, and its environment's teardown closes them. What that stops: a worker terminated at a
// guest's deadline left every file the guest had open; Node closes at a worker's
// exit the descriptors its own fs.open made, not these, so each such run leaked
// them (a server's tenants spinning with files open ran it out of descriptors).
// Closing one of them through Node instead would be just as wrong the other way
// round: close() answers 1 for a descriptor it did not open, and the caller then
// closes it through Node, which closes its own at a worker's exit.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>

#define STAT_SLOTS 10
#define NAME_MAX_BYTES 255

static napi_value number(napi_env env, int64_t value) {
  napi_value out;
  napi_create_int64(env, value, &out);
  return out;
}

/**
 * Reads `name` as one plain component: at most NAME_MAX bytes, no '/', no NUL,
 * not "." or "..". What it stops: a name that climbs out of the directory or
 * walks into another one, which the kernel would otherwise resolve past the
 * descriptor the caller checked (the caller resolved everything else).
 */
static int read_name(napi_env env, napi_value value, char name[NAME_MAX_BYTES + 2]) {
  size_t length;
  // The whole name's length first: a copy into the buffer stops at a character's boundary, so a
  // long name of multi-byte characters would otherwise arrive cut short and open another name.
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return -EINVAL;
  if (length > NAME_MAX_BYTES) return -ENAMETOOLONG;
  if (napi_get_value_string_utf8(env, value, name, NAME_MAX_BYTES + 2, &length) != napi_ok) return -EINVAL;
  if (length == 0 || memchr(name, '/', length) != NULL || strlen(name) != length) return -EINVAL;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return -EINVAL;
  return 0;
}

static int read_int(napi_env env, napi_value value, int32_t *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

static double *stat_slots(napi_env env, napi_value value) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return NULL;
  return type == napi_float64_array && length >= STAT_SLOTS ? (double *)data : NULL;
}

static void put_u64(double *slots, int at, uint64_t value) {
  memcpy(&slots[at], &value, sizeof value);
}

/** Signed, as Node's atimeNs: a time before 1970 stays negative. */
static uint64_t ns_of(const struct timespec *t) {
  return (uint64_t)((int64_t)t->tv_sec * 1000000000 + (int64_t)t->tv_nsec);
}

static void fill(double *slots, const struct stat *st) {
  put_u64(slots, 0, (uint64_t)st->st_dev);
  put_u64(slots, 1, (uint64_t)st->st_ino);
  put_u64(slots, 2, ns_of(&st->st_atim));
  put_u64(slots, 3, ns_of(&st->st_mtim));
  put_u64(slots, 4, ns_of(&st->st_ctim));
  slots[5] = (double)st->st_mode;
  slots[6] = (double)st->st_nlink;
  slots[7] = (double)st->st_size;
  slots[8] = (double)st->st_blocks;
  slots[9] = (double)st->st_blksize;
}

/**
 * The descriptors this thread opened through the helper and has not closed: a flag per number.
 * Per thread, not per load: every load of the helper on a thread (each gets an napi_env of its
 * own) answers for the same descriptors.
 */
typedef struct {
  uint8_t *open;
  size_t capacity;
} Owned;

static __thread Owned thread_owned;

static Owned *owned_of(napi_env env) {
  (void)env;
  return &thread_owned;
}

/** Records fd as the helper's; false when it cannot (the caller then closes it and fails the open). */
static int own(Owned *owned, int fd) {
  if (!owned) return 0;
  if ((size_t)fd >= owned->capacity) {
    size_t capacity = owned->capacity ? owned->capacity : 256;
    while (capacity <= (size_t)fd) capacity *= 2;
    uint8_t *grown = realloc(owned->open, capacity);
    if (!grown) return 0;
    memset(grown + owned->capacity, 0, capacity - owned->capacity);
    owned->open = grown;
    owned->capacity = capacity;
  }
  owned->open[fd] = 1;
  return 1;
}

/**
 * The environment's teardown, on its own thread (a worker's exit, terminated or not; the
 * process's end): closes what is still open. Each load registers it; the first empties the set.
 */
static void close_owned(napi_env env, void *data, void *hint) {
  Owned *owned = data;
  for (size_t fd = 0; fd < owned->capacity; fd++) if (owned->open[fd]) close((int)fd);
  free(owned->open);
  owned->open = NULL;
  owned->capacity = 0;
}

/** openAt(dirfd, name, flags, mode): never follows a final link (O_NOFOLLOW is always added), always close-on-exec. */
static napi_value open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t dirfd, flags, mode;
  char name[NAME_MAX_BYTES + 2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      !read_int(env, argv[0], &dirfd) || !read_int(env, argv[2], &flags) || !read_int(env, argv[3], &mode)) {
    return number(env, -EINVAL);
  }
  int bad = read_name(env, argv[1], name);
  if (bad) return number(env, bad);
  int fd;
  do fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode); while (fd < 0 && errno == EINTR);
  if (fd < 0) return number(env, -errno);
  if (!own(owned_of(env), fd)) {
    close(fd);
    return number(env, -ENOMEM);
  }
  return number(env, fd);
}

/** lstatAt(dirfd, name, slots): the entry itself, a link included (AT_SYMLINK_NOFOLLOW). */
static napi_value lstat_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t dirfd;
  char name[NAME_MAX_BYTES + 2];
  double *slots;
  struct stat st;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !read_int(env, argv[0], &dirfd) || (slots = stat_slots(env, argv[2])) == NULL) {
    return number(env, -EINVAL);
  }
  int bad = read_name(env, argv[1], name);
  if (bad) return number(env, bad);
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return number(env, -errno);
  fill(slots, &st);
  return number(env, 0);
}

/** fstat(fd, slots) */
static napi_value fstat_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  double *slots;
  struct stat st;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      !read_int(env, argv[0], &fd) || (slots = stat_slots(env, argv[1])) == NULL) {
    return number(env, -EINVAL);
  }
  if (fstat(fd, &st) != 0) return number(env, -errno);
  fill(slots, &st);
  return number(env, 0);
}

/** unlinkAt(dirfd, name): a file or link, never a directory (no AT_REMOVEDIR). */
static napi_value unlink_at(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t dirfd;
  char name[NAME_MAX_BYTES + 2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !read_int(env, argv[0], &dirfd)) {
    return number(env, -EINVAL);
  }
  int bad = read_name(env, argv[1], name);
  if (bad) return number(env, bad);
  return number(env, unlinkat(dirfd, name, 0) == 0 ? 0 : -errno);
}

/**
 * The bytes [offset, offset + length) of a Uint8Array argument, checked to lie
 * inside it. What the check stops: a read or write past the guest's buffer.
 */
static uint8_t *byte_range(napi_env env, napi_value value, int64_t offset, int64_t length) {
  napi_typedarray_type type;
  size_t size;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &size, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return NULL;
  if (offset < 0 || length < 0 || (uint64_t)offset > size || (uint64_t)length > size - (uint64_t)offset) return NULL;
  return (uint8_t *)data + offset;
}

/** Reads fd, buffer, offset, length, position (a Number: the caller passes only exact ones). */
static uint8_t *io_args(napi_env env, napi_callback_info info, int32_t *fd, int64_t *length, int64_t *position) {
  size_t argc = 5;
  napi_value argv[5];
  int64_t offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !read_int(env, argv[0], fd) ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], length) != napi_ok ||
      napi_get_value_int64(env, argv[4], position) != napi_ok || *position < 0) {
    return NULL;
  }
  return byte_range(env, argv[1], offset, *length);
}

/** pread(fd, buffer, offset, length, position): bytes read, or -errno. */
static napi_value pread_fd(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t length, position;
  uint8_t *at = io_args(env, info, &fd, &length, &position);
  if (at == NULL) return number(env, -EINVAL);
  ssize_t n;
  // Retried when a signal interrupts it, as libuv retries Node's reads.
  do n = pread(fd, at, (size_t)length, (off_t)position); while (n < 0 && errno == EINTR);
  return number(env, n >= 0 ? n : -errno);
}

/** pwrite(fd, buffer, offset, length, position): bytes written, or -errno. */
static napi_value pwrite_fd(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t length, position;
  uint8_t *at = io_args(env, info, &fd, &length, &position);
  if (at == NULL) return number(env, -EINVAL);
  ssize_t n;
  do n = pwrite(fd, at, (size_t)length, (off_t)position); while (n < 0 && errno == EINTR);
  return number(env, n >= 0 ? n : -errno);
}

/**
 * close(fd): 0 or -errno for a descriptor this environment opened through the helper, which it
 * then no longer owns; 1, closing nothing, for any other (the caller closes it through Node).
 * Never retried on EINTR: Linux has released the descriptor by then.
 */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !read_int(env, argv[0], &fd)) {
    return number(env, -EINVAL);
  }
  Owned *owned = owned_of(env);
  if (fd < 0 || !owned || (size_t)fd >= owned->capacity || !owned->open[fd]) return number(env, 1);
  owned->open[fd] = 0;
  return number(env, close(fd) == 0 ? 0 : -errno);
}

NAPI_MODULE_INIT() {
  if (napi_set_instance_data(env, &thread_owned, close_owned, NULL) != napi_ok) return NULL;
  static const struct { const char *name; napi_callback fn; } functions[] = {
    { "openAt", open_at }, { "lstatAt", lstat_at }, { "fstat", fstat_fd }, { "unlinkAt", unlink_at },
    { "pread", pread_fd }, { "pwrite", pwrite_fd }, { "close", close_fd },
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) return NULL;
  }
  napi_value slots;
  if (napi_create_int32(env, STAT_SLOTS, &slots) != napi_ok || napi_set_named_property(env, exports, "STAT_SLOTS", slots) != napi_ok) return NULL;
  return exports;
}
