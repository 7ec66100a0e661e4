// A WAGI handler that shows what a tenant is given: its CGI variables (one
// per line, sorted as received) and the size of the request body.
#include <stdio.h>

extern char **environ;

int main(void) {
  printf("Content-Type: text/plain\n\n");
  for (char **e = environ; *e; e++) printf("%s\n", *e);
  char buf[4096];
  size_t n, total = 0;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) total += n;
  printf("body-bytes=%zu\n", total);
  return 0;
}
