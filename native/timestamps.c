// Sets file timestamps to the nanosecond: futimens and utimensat for
// wasm-warden's WASI layer (src/wasi/fs/timestamps.ts). Node's own utimes
// family takes seconds as a double and libuv cuts them to microseconds, so a
// guest that sets mtim - 100 ns would read back another time.
//
// Each time is a BigInt of nanoseconds since the epoch, or null to leave that
// time as it is (UTIME_OMIT). Errors throw an Error whose `code` is the errno
// name Node would use (ENOENT, EPERM, ...), so the caller maps them as usual.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <node_api.h>

static const char *code_of(int e) {
  switch (e) {
    case EACCES: return "EACCES"; case EBADF: return "EBADF"; case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP"; case ENAMETOOLONG: return "ENAMETOOLONG"; case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR"; case EPERM: return "EPERM"; case EROFS: return "EROFS";
    case ESRCH: return "ESRCH"; default: return "EIO";
  }
}

static napi_value fail(napi_env env, int e) {
  napi_throw_error(env, code_of(e), strerror(e));
  return NULL;
}

/** Reads a time argument: null or undefined means UTIME_OMIT; a BigInt is ns since the epoch. */
static int read_time(napi_env env, napi_value value, struct timespec *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_null || type == napi_undefined) {
    out->tv_sec = 0;
    out->tv_nsec = UTIME_OMIT;
    return 1;
  }
  if (type != napi_bigint) return 0;
  uint64_t ns;
  bool lossless;
  if (napi_get_value_bigint_uint64(env, value, &ns, &lossless) != napi_ok || !lossless) return 0;
  out->tv_sec = (time_t)(ns / 1000000000u);
  out->tv_nsec = (long)(ns % 1000000000u);
  return 1;
}

/** futimens(fd, atime, mtime) */
static napi_value set_fd_times(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  struct timespec times[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !read_time(env, argv[1], &times[0]) || !read_time(env, argv[2], &times[1])) {
    napi_throw_type_error(env, NULL, "setFdTimes(fd, atimeNs | null, mtimeNs | null)");
    return NULL;
  }
  if (futimens(fd, times) != 0) return fail(env, errno);
  return NULL;
}

/** utimensat(dirfd, name, atime, mtime, AT_SYMLINK_NOFOLLOW): `name` is one component beneath `dirfd`. */
static napi_value set_times_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t dirfd;
  char name[257];
  size_t length;
  struct timespec times[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, argv[0], &dirfd) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], name, sizeof name, &length) != napi_ok ||
      !read_time(env, argv[2], &times[0]) || !read_time(env, argv[3], &times[1])) {
    napi_throw_type_error(env, NULL, "setTimesAt(dirfd, name, atimeNs | null, mtimeNs | null)");
    return NULL;
  }
  // One plain name only: the caller resolved everything else beneath the preopen.
  if (length > 255) return fail(env, ENAMETOOLONG);
  // A NUL inside would cut the name short in C: refused like a slash.
  if (length == 0 || memchr(name, '/', length) != NULL || memchr(name, '\0', length) != NULL) return fail(env, EINVAL);
  if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) != 0) return fail(env, errno);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "setFdTimes", NAPI_AUTO_LENGTH, set_fd_times, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "setFdTimes", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "setTimesAt", NAPI_AUTO_LENGTH, set_times_at, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "setTimesAt", fn) != napi_ok) return NULL;
  return exports;
}
