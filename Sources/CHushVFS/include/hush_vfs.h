#ifndef HUSH_VFS_H
#define HUSH_VFS_H

#include <sqlite3.h>

/// The name of the VFS that `hush_vfs_register` adds.
#define HUSH_VFS_NAME "hush-map"

/// Registers, once, a VFS that wraps the default one (unix) and maps a main database file whole
/// instead of at most SQLITE_MAX_MMAP_SIZE bytes (2 GiB in Debian's libsqlite3), so that pages
/// past the first 2 GiB are read from memory too rather than copied in by pread. Every other
/// call goes to the wrapped VFS unchanged. Returns an SQLite result code.
int hush_vfs_register(void);

/// Bytes of `db`'s main database file that the wrapping VFS can answer from its mapping: -1
/// when the file is not one it maps (another VFS, or its descriptor could not be checked). For
/// tests and diagnostics.
sqlite3_int64 hush_vfs_mapped_bytes(sqlite3 *db);

/// How many times the wrapping VFS has measured `db`'s main file (one fstat each); -1 when it
/// does not map it. For tests.
sqlite3_int64 hush_vfs_measures(sqlite3 *db);

#endif
