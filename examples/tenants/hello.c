// A WAGI hello handler: the smallest useful tenant. Headers, a blank line,
// then the body, all on stdout.
#include <stdio.h>

int main(void) {
  fputs("Content-Type: text/plain\n\nHello from wasm-warden!\n", stdout);
  return 0;
}
