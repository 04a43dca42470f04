/* Files written so that a reader, or a crash, sees either the old file or the new one, whole.
 * Every writer of relucl and its tools goes through here. Plain C, no OpenCL. */
#ifndef RELUCL_IO_ATOMIC_FILE_H
#define RELUCL_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

/* A file being written: `stream` writes a temporary file in the destination's folder (so the
 * final rename stays within one file system). */
typedef struct relucl__atomic_file {
    FILE *stream;
    char *path, *tmp;
} relucl__atomic_file;

/* Opens the temporary file "<path>.tmp" (a name of its own while another writer holds that
 * one). A writer killed before its commit leaves that file behind, and the next writer of the
 * same path reuses it, so at most one is ever left. The new file gets the old file's
 * permissions, or the umask's for a new one. Returns 0, or an errno value with nothing left
 * behind. */
int relucl__atomic_open(relucl__atomic_file *file, const char *path);
/* Flushes and fsyncs the temporary file, renames it over the destination and fsyncs the
 * folder, so the new file survives a power cut once this returns 0. On failure returns an
 * errno value, removes the temporary file and leaves the destination as it was. Either way
 * the handle is finished. */
int relucl__atomic_commit(relucl__atomic_file *file);
/* Drops the temporary file; the destination stays as it was. */
void relucl__atomic_abort(relucl__atomic_file *file);

/* The whole file from one buffer: open, write, commit. Returns 0 or an errno value. */
int relucl__atomic_write(const char *path, const void *data, size_t size);

/* Creates the folder that will hold `path` (and its parents), mode 0700 for new ones.
 * Returns 0 or an errno value. */
int relucl__make_parent_dirs(const char *path);

#endif /* RELUCL_IO_ATOMIC_FILE_H */
