// A tenant that wants the network: it imports WASI's socket calls (preview1
// has no way to create a socket; accept/recv/send/shutdown act on inherited
// ones) and tries them on descriptors 0-9. The server refuses such a module at
// admission, so none of this runs there.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
  printf("Content-Type: text/plain\n\n");
  for (int fd = 0; fd < 10; fd++) {
    __wasi_fd_t accepted;
    __wasi_errno_t e = __wasi_sock_accept(fd, 0, &accepted);
    printf("sock_accept(%d): %s\n", fd, e == 0 ? "ESCAPED" : strerror(e));
    e = __wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR);
    printf("sock_shutdown(%d): %s\n", fd, e == 0 ? "ESCAPED" : strerror(e));
  }
  return 0;
}
