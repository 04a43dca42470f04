/* Atomic file replacement: temporary file beside the destination, fsync, rename, fsync of
 * the folder. */
#include "io/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *copy_with_suffix(const char *text, const char *suffix) {
    size_t a = strlen(text), b = strlen(suffix);
    char *out = malloc(a + b + 1);
    if (out) {
        memcpy(out, text, a);
        memcpy(out + a, suffix, b + 1);
    }
    return out;
}

static void finish(relucl__atomic_file *file) {
    free(file->path);
    free(file->tmp);
    file->path = file->tmp = NULL;
    file->stream = NULL;
}

/* The process's umask, read without changing it (umask(2) would, for every thread). */
static mode_t current_umask(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    unsigned value = 022;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &value) == 1)
            break;
    if (f)
        fclose(f);
    return (mode_t)value;
}

/* The temporary file "<path>.tmp", locked (flock) for as long as this writer holds it. A
 * writer killed half-way leaves it behind unlocked, and the next writer takes it over, so at
 * most one is ever left. EBUSY when a live writer holds it. */
static int open_shared_tmp(const char *tmp, int *out) {
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return errno;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            return EBUSY;
        }
        /* The lock holds the file, not the name: a writer that renamed it over its
         * destination in the meantime leaves us holding the published file. */
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(tmp, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            if (ftruncate(fd, 0) != 0) {
                int e = errno;
                close(fd);
                return e;
            }
            *out = fd;
            return 0;
        }
        close(fd);
    }
    return EBUSY;
}

int relucl__atomic_open(relucl__atomic_file *file, const char *path) {
    file->stream = NULL;
    file->path = copy_with_suffix(path, "");
    file->tmp = copy_with_suffix(path, ".tmp");
    if (!file->path || !file->tmp) {
        finish(file);
        return ENOMEM;
    }
    int fd = -1, e = open_shared_tmp(file->tmp, &fd);
    if (e == EBUSY) { /* another writer of the same file is at work: a name of our own */
        free(file->tmp);
        file->tmp = copy_with_suffix(path, ".tmp.XXXXXX");
        fd = file->tmp ? mkstemp(file->tmp) : -1;
        e = !file->tmp ? ENOMEM : fd < 0 ? errno : 0;
    }
    /* The new file gets the old one's permissions, or those a new file would get. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? old.st_mode & 07777 : 0666 & ~current_umask();
    if (!e && fchmod(fd, mode) != 0)
        e = errno;
    if (!e && !(file->stream = fdopen(fd, "wb")))
        e = errno;
    if (e) {
        if (fd >= 0) {
            close(fd);
            unlink(file->tmp);
        }
        finish(file);
    }
    return e;
}

void relucl__atomic_abort(relucl__atomic_file *file) {
    if (file->stream) {
        unlink(file->tmp); /* before the close: the lock still keeps other writers out */
        fclose(file->stream);
    }
    finish(file);
}

/* The folder's own entry must reach the disk too, or the rename can be lost. */
static int sync_parent(const char *path) {
    char *dir = copy_with_suffix(path, "");
    if (!dir)
        return ENOMEM;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int e = fd < 0 || fsync(fd) != 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    free(dir);
    return e == EINVAL ? 0 : e; /* some file systems cannot sync folders: nothing more to do */
}

int relucl__atomic_commit(relucl__atomic_file *file) {
    if (!file->stream)
        return EINVAL;
    int e = 0;
    errno = 0;
    if (ferror(file->stream) || fflush(file->stream) != 0 || fsync(fileno(file->stream)) != 0)
        e = errno ? errno : EIO;
    /* Renamed while still open, so the lock on "<path>.tmp" covers the rename too. */
    if (!e && rename(file->tmp, file->path) != 0)
        e = errno;
    if (e)
        unlink(file->tmp);
    if (fclose(file->stream) != 0 && !e)
        e = errno; /* the data were synced: a close error after the rename loses nothing */
    file->stream = NULL;
    if (!e)
        e = sync_parent(file->path);
    finish(file);
    return e;
}

int relucl__atomic_write(const char *path, const void *data, size_t size) {
    relucl__atomic_file file;
    int e = relucl__atomic_open(&file, path);
    if (e)
        return e;
    if (size > 0 && fwrite(data, 1, size, file.stream) != size) {
        e = errno ? errno : EIO;
        relucl__atomic_abort(&file);
        return e;
    }
    return relucl__atomic_commit(&file);
}

int relucl__make_parent_dirs(const char *path) {
    char *dir = copy_with_suffix(path, "");
    if (!dir)
        return ENOMEM;
    int e = 0;
    for (char *p = dir + 1; *p && !e; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            e = errno;
        *p = '/';
    }
    free(dir);
    return e;
}
