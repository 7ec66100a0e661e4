// SHA-256, HMAC-SHA-256 and a constant-time comparison for the prepared-module
// cache (src/sandbox/digest.ts), through the OpenSSL that Node itself carries
// and exports to addons: the same code node:crypto runs, without loading
// node:crypto's JavaScript (its module graph costs a short `warden run` about
// as much as the rest of a cache hit: docs/RATIONALE.md).
//
// Each function writes its 32-byte result into a Uint8Array the caller gives
// and returns true, or returns false when an argument is not what it must be
// (the caller then goes through node:crypto). Nothing is kept between calls.
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <node_api.h>

#define DIGEST_BYTES 32

/** The bytes of a Uint8Array argument (any view: a Buffer, a subarray), or NULL when it is none. */
static const uint8_t *bytes_of(napi_env env, napi_value value, size_t *length) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return NULL;
  // A zero-length view may have no backing store at all; hand OpenSSL a valid pointer for it.
  static const uint8_t empty[1];
  return *length == 0 ? empty : (const uint8_t *)data;
}

/**
 * The 32-byte output argument. What the length check stops: a digest written
 * past the end of a smaller buffer.
 */
static uint8_t *output_of(napi_env env, napi_value value) {
  size_t length;
  const uint8_t *data = bytes_of(env, value, &length);
  return data != NULL && length == DIGEST_BYTES ? (uint8_t *)data : NULL;
}

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  return napi_get_boolean(env, value != 0, &result) == napi_ok ? result : NULL;
}

/** sha256(data, out): out = SHA-256(data). */
static napi_value sha256(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return boolean(env, 0);
  size_t length;
  const uint8_t *data = bytes_of(env, argv[0], &length);
  uint8_t *out = output_of(env, argv[1]);
  if (data == NULL || out == NULL) return boolean(env, 0);
  unsigned int written = 0;
  int ok = EVP_Digest(data, length, out, &written, EVP_sha256(), NULL) == 1 && written == DIGEST_BYTES;
  return boolean(env, ok);
}

/** hmacSha256(key, data, out): out = HMAC-SHA-256 of data under key. */
static napi_value hmac_sha256(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return boolean(env, 0);
  size_t key_length, length;
  const uint8_t *key = bytes_of(env, argv[0], &key_length);
  const uint8_t *data = bytes_of(env, argv[1], &length);
  uint8_t *out = output_of(env, argv[2]);
  // HMAC takes the key's length as an int.
  if (key == NULL || data == NULL || out == NULL || key_length > INT32_MAX) return boolean(env, 0);
  unsigned int written = 0;
  int ok = HMAC(EVP_sha256(), key, (int)key_length, data, length, out, &written) != NULL && written == DIGEST_BYTES;
  return boolean(env, ok);
}

/**
 * equal(a, b): whether two byte strings are equal, in time that depends on
 * their length only. What it stops: learning a MAC byte by byte from how soon
 * a comparison gives up.
 */
static napi_value equal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return boolean(env, 0);
  size_t a_length, b_length;
  const uint8_t *a = bytes_of(env, argv[0], &a_length);
  const uint8_t *b = bytes_of(env, argv[1], &b_length);
  if (a == NULL || b == NULL || a_length != b_length) return boolean(env, 0);
  return boolean(env, CRYPTO_memcmp(a, b, a_length) == 0);
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } functions[] = {
    { "sha256", sha256 }, { "hmacSha256", hmac_sha256 }, { "equal", equal },
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
