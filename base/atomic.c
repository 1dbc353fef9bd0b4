/* Write-to-temporary-then-rename, so an interrupted run never leaves a half file. */
#include "base/es_base.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int es_atomic_open(es_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = strdup(path);
    a->tmp = malloc(n + 16);
    if (!a->path || !a->tmp) {
        es_atomic_abort(a);
        return es_fail("%s: out of memory", path);
    }
    /* The temporary name sits in the same folder, so rename() cannot cross filesystems. */
    snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        free(a->tmp), a->tmp = NULL;
        es_atomic_abort(a);
        return es_fail("%s: cannot write: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; give it the mode open(2) would (0666 less the umask).
     * Reading the umask means setting it, so this is not for threads racing on umask. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        close(fd);
        es_atomic_abort(a);
        return es_fail("%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

int es_atomic_commit(es_atomic *a)
{
    int bad = ferror(a->f);
    bad |= fflush(a->f) != 0;
    bad |= fclose(a->f) != 0;
    a->f = NULL;
    if (bad || rename(a->tmp, a->path) != 0) {
        int e = errno;
        char *path = a->path;
        a->path = NULL;
        es_atomic_abort(a);
        es_fail("%s: write failed: %s", path, strerror(e ? e : EIO));
        free(path);
        return -1;
    }
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
    return 0;
}

void es_atomic_abort(es_atomic *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}
