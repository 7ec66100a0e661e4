// An Extism kernel ABI plugin (module "extism:host/env"), for `warden call`
// (docs/plugins.md, section 4): count_vowels reads its whole input and sets
// {"count":N,"vowels":"aeiouAEIOU"} as its output; greet sets the "greeting"
// config value as its output, or an error when none is configured.
#include "extism-abi.h"

static const char vowels[] = "aeiouAEIOU";

static int is_vowel(uint32_t c) {
  for (int i = 0; vowels[i]; i++)
    if ((uint32_t)vowels[i] == c) return 1;
  return 0;
}

/** Writes n in decimal at out, returning the digits written. */
static int decimal(uint64_t n, char *out) {
  char digits[20];
  int k = 0;
  do { digits[k++] = (char)('0' + n % 10); n /= 10; } while (n);
  for (int i = 0; i < k; i++) out[i] = digits[k - 1 - i];
  return k;
}

static void set_output(const char *bytes, uint64_t n) { extism_output_set(to_block(bytes, n), n); }

PLUGIN_EXPORT(count_vowels) int32_t count_vowels(void) {
  uint64_t length = extism_input_length(), count = 0;
  for (uint64_t i = 0; i < length; i++) count += is_vowel(extism_input_load_u8(i));
  char json[64] = "{\"count\":";
  int n = 9;
  n += decimal(count, json + n);
  const char *tail = ",\"vowels\":\"aeiouAEIOU\"}";
  for (int i = 0; tail[i]; i++) json[n++] = tail[i];
  set_output(json, (uint64_t)n);
  return 0;
}

PLUGIN_EXPORT(greet) int32_t greet(void) {
  const char key[] = "greeting";
  uint64_t value = extism_config_get(to_block(key, sizeof key - 1));
  if (value == 0) {
    const char message[] = "no greeting configured: pass --config greeting=...";
    extism_error_set(to_block(message, sizeof message - 1));
    return 1;
  }
  uint64_t n = extism_length(value);
  extism_output_set(value, n);
  return 0;
}
