/* The least any reader pays to hold a pipe's N bytes in memory at once:
 * read(2) them into fresh pages, nothing else. bench/README.md compares
 * `pickletool recode` from a pipe with it (a mapped file pays neither the
 * copy nor the fresh pages, so no pipe reader can come within 1.1x of it on
 * a large bytes payload).
 *
 *   cc -O2 bench/pipe_floor.c -o /tmp/pipe_floor
 *   cat FILE | /usr/bin/time -f "%U+%S" /tmp/pipe_floor $(stat -c %s FILE)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pipe_floor N < input\n");
    return 2;
  }
  const size_t n = strtoull(argv[1], NULL, 10);
  char* p = malloc(n ? n : 1);
  size_t got = 0;
  while (p && got < n) {
    const ssize_t k = read(0, p + got, n - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  printf("%zu\n", got);
  return got == n ? 0 : 1;
}
