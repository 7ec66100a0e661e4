// A small key/value store as a WAGI handler. It keeps each value in a file
// under /kv in its own root (the guest's `/`, which the server maps to the
// tenant's data directory):
//   GET    /            lists the keys
//   GET    /KEY         reads a value (404 when absent)
//   PUT    /KEY         stores the request body (POST works too)
//   DELETE /KEY         removes it
// Keys are 1-64 characters of [A-Za-z0-9._-] not starting with a dot.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void respond(const char *status, const char *body) {
  printf("Status: %s\nContent-Type: text/plain\n\n%s", status, body);
}

static int valid_key(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > 64 || key[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return 0;
  }
  return 1;
}

static int list_keys(void) {
  DIR *dir = opendir("/kv");
  printf("Content-Type: text/plain\n\n");
  if (!dir) return 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    printf("%s\n", entry->d_name);
  }
  closedir(dir);
  return 0;
}

int main(void) {
  const char *method = getenv("REQUEST_METHOD");
  const char *path = getenv("PATH_INFO");
  if (!method) method = "GET";
  if (!path || strcmp(path, "") == 0 || strcmp(path, "/") == 0) return list_keys();
  const char *key = path[0] == '/' ? path + 1 : path;
  if (!valid_key(key)) { respond("400 Bad Request", "bad key\n"); return 0; }
  char file[80];
  snprintf(file, sizeof file, "/kv/%s", key);
  if (strcmp(method, "GET") == 0) {
    FILE *f = fopen(file, "rb");
    if (!f) { respond("404 Not Found", "no such key\n"); return 0; }
    printf("Content-Type: application/octet-stream\n\n");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
  }
  if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
    mkdir("/kv", 0755);
    FILE *f = fopen(file, "wb");
    if (!f) { printf("Status: 507 Insufficient Storage\nContent-Type: text/plain\n\ncannot store: %s\n", strerror(errno)); return 0; }
    char buf[4096];
    size_t n;
    int failed = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) if (fwrite(buf, 1, n, f) != n) { failed = 1; break; }
    if (fclose(f) != 0) failed = 1;
    if (failed) { unlink(file); respond("507 Insufficient Storage", "cannot store: quota\n"); return 0; }
    respond("201 Created", "stored\n");
    return 0;
  }
  if (strcmp(method, "DELETE") == 0) {
    if (unlink(file) != 0) { respond("404 Not Found", "no such key\n"); return 0; }
    respond("200 OK", "deleted\n");
    return 0;
  }
  respond("405 Method Not Allowed", "use GET, PUT or DELETE\n");
  return 0;
}
