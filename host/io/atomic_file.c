/* Atomic file replacement: temporary file beside the destination, fsync, rename, fsync of
 * the folder. */
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

int relucl__atomic_open(relucl__atomic_file *file, const char *path) {
    file->stream = NULL;
    file->path = copy_with_suffix(path, "");
    file->tmp = copy_with_suffix(path, ".XXXXXX");
    if (!file->path || !file->tmp) {
        finish(file);
        return ENOMEM;
    }
    int fd = mkstemp(file->tmp);
    if (fd < 0) {
        int e = errno;
        finish(file);
        return e;
    }
    file->stream = fdopen(fd, "wb");
    if (!file->stream) {
        int e = errno;
        close(fd);
        unlink(file->tmp);
        finish(file);
        return e;
    }
    return 0;
}

void relucl__atomic_abort(relucl__atomic_file *file) {
    if (file->stream) {
        fclose(file->stream);
        unlink(file->tmp);
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
    if (ferror(file->stream) || fflush(file->stream) != 0 || fsync(fileno(file->stream)) != 0)
        e = errno ? errno : EIO;
    if (fclose(file->stream) != 0 && !e)
        e = errno;
    file->stream = NULL;
    if (!e && rename(file->tmp, file->path) != 0)
        e = errno;
    if (e)
        unlink(file->tmp);
    else
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
