/* Shared by the libFuzzer targets (fuzz/fuzz_NAME.c, `make fuzz`): the library's readers take
 * paths, so each input is written to a file in /dev/shm first (one per process). */
#ifndef ES_FUZZ_H
#define ES_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The input as a file named …/es-fuzz-PID.EXT; its path (a static buffer). */
static inline const char *fuzz_file(const uint8_t *data, size_t n, const char *ext)
{
    static char path[128];
    snprintf(path, sizeof path, "/dev/shm/es-fuzz-%ld.%s", (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    fclose(f);
    return path;
}

/* The input as a NUL-terminated string (malloc'd). */
static inline char *fuzz_text(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

#endif
