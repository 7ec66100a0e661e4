// Random bytes for a guest's random_get and the coarse clocks' jitter
// (src/wasi/random-bytes.ts) from the generator Web Crypto and node:crypto
// draw from, OpenSSL's (seeded by the kernel), through the OpenSSL Node exports
// to addons: without loading Web Crypto's JavaScript, which a fresh process
// pays about 7 ms for on its first random byte (node:crypto, its streams and
// WebIDL: docs/RATIONALE.md). Not getrandom(2) itself: a system call per fill
// took 1.7 µs for 32 bytes and 122 µs for 64 KiB here, against OpenSSL's 2.0 and 11.8.
//
// fill(target) fills a whole Uint8Array and returns 0, or -1 when OpenSSL
// refuses (the caller then goes through Web Crypto, which throws); a target
// that is not a Uint8Array, or larger than 65,536 bytes (Web Crypto's own
// bound, which the caller keeps to), is -EINVAL and nothing is written.
#include <errno.h>
#include <stdint.h>
#include <openssl/rand.h>
#include <node_api.h>

#define MAX_FILL 65536

static napi_value number(napi_env env, int32_t value) {
  napi_value out;
  napi_create_int32(env, value, &out);
  return out;
}

static napi_value fill(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || length > MAX_FILL) {
    return number(env, -EINVAL);
  }
  if (length == 0) return number(env, 0);
  // RAND_bytes answers 1 only when every byte came from a seeded generator.
  return number(env, RAND_bytes(data, (int)length) == 1 ? 0 : -1);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "fill", NAPI_AUTO_LENGTH, fill, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fill", fn) != napi_ok) return NULL;
  return exports;
}
