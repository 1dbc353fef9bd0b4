/* Write-to-temporary-then-rename, so an interrupted run never leaves a half file.
 *
 * The temporary is PATH.tmp.PID.XXXXXX in the same folder (rename() cannot cross
 * filesystems). Open temporaries are listed in a small table that es_atomic_cleanup() empties
 * from a signal handler; a run killed outright (SIGKILL) leaves its temporary, and the next
 * es_atomic_open of the same PATH removes those whose process is gone. */
#include "base/es_base.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOTS 64
static struct {
    volatile sig_atomic_t used;
    char name[PATH_MAX];
} live[SLOTS];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void live_add(const char *tmp)
{
    if (strlen(tmp) >= PATH_MAX)
        return;
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < SLOTS; i++)
        if (!live[i].used) {
            strcpy(live[i].name, tmp);
            live[i].used = 1; /* set last: a handler sees a whole name or none */
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(const char *tmp)
{
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < SLOTS; i++)
        if (live[i].used && strcmp(live[i].name, tmp) == 0)
            live[i].used = 0;
    pthread_mutex_unlock(&live_lock);
}

void es_atomic_cleanup(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (live[i].used)
            unlink(live[i].name), live[i].used = 0;
}

/* Removes PATH.tmp.PID.XXXXXX files left by processes that no longer run. */
static void remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dl = slash ? (size_t)(slash - path) : 0, bl = strlen(base);
    char dir[PATH_MAX];
    if (dl >= sizeof dir || bl + 5 > NAME_MAX)
        return;
    if (!slash)
        strcpy(dir, ".");
    else if (dl == 0)
        strcpy(dir, "/");
    else
        memcpy(dir, path, dl), dir[dl] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(n + bl + 5, &end, 10);
        if (end == n + bl + 5 || *end != '.' || strlen(end + 1) != 6 || pid <= 0)
            continue;
        if (pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", dir, n) < (int)sizeof full)
            unlink(full);
    }
    closedir(d);
}

int es_output_check(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISLNK(st.st_mode))
        return es_fail("%s: is a symbolic link; refusing to replace it (name the file itself)", path);
    if (S_ISDIR(st.st_mode))
        return es_fail("%s: is a folder, not a file", path);
    if (!S_ISREG(st.st_mode))
        return es_fail("%s: not a regular file (a device, pipe or socket); refusing to replace it",
                       path);
    return 0;
}

int es_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int es_atomic_open(es_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    if (es_output_check(path) != 0)
        return -1;
    remove_stale(path);
    size_t n = strlen(path) + 40;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        es_atomic_abort(a);
        return es_fail("%s: out of memory", path);
    }
    snprintf(a->tmp, n, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        free(a->tmp), a->tmp = NULL;
        es_atomic_abort(a);
        return es_fail("%s: cannot write: %s", path, strerror(e));
    }
    live_add(a->tmp);
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
    /* checked again at the last moment: the path may have become a link or a device since */
    int e = 0;
    if (!bad && es_output_check(a->path) != 0) {
        char *path = a->path;
        a->path = NULL;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_atomic_abort(a);
        free(path);
        return es_fail("%s", msg);
    }
    if (bad || rename(a->tmp, a->path) != 0) {
        e = errno;
        char *path = a->path;
        a->path = NULL;
        es_atomic_abort(a);
        es_fail("%s: write failed: %s", path, strerror(e ? e : EIO));
        free(path);
        return -1;
    }
    live_remove(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
    return 0;
}

void es_atomic_abort(es_atomic *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp) {
        unlink(a->tmp);
        live_remove(a->tmp);
    }
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}
