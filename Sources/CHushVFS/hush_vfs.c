// A VFS that wraps SQLite's default (unix) one and maps main database files whole.
//
// SQLite reads a page of a mapped file straight from memory, and pages past the mapping with
// pread into its page cache. How much it maps is `PRAGMA mmap_size`, capped by the compile-time
// SQLITE_MAX_MMAP_SIZE inside the unix VFS: 2 GiB in Debian's libsqlite3. At ten million
// customers hush's file is about 8 GB, so most lookups took the pread path (README, "Decisions
// at size"). The pager itself does not cap the size: it asks the VFS for each page (xFetch) and
// reads the page when the VFS answers with no pointer. This VFS answers from a mapping of its
// own, up to `PRAGMA mmap_size` with no other cap, and hands every other call to unix unchanged.
//
// Pointers are handed out only for bytes inside the file as last measured, and the mapping moves
// only while no page of it is out (xUnfetch counts them back), as in unix's own (os_unix.c,
// unixFetch). It is read-only and shared, so writes through any descriptor are seen at once.
// Unlike unix's, it is not dropped when the pager calls xUnfetch with no pointer, which the pager
// does at the start of every read transaction after another connection committed (pager.c,
// pagerBeginReadTransaction): unix then unmaps the file and maps it again, page faults included,
// once per commit per reader. The pager asks so because a file truncated and grown back may no
// longer match a mapping of it; on Linux a shared mapping follows the file's pages through a
// truncation (the kernel removes the cut pages from every mapping), so here the file is only
// measured again before the next page is handed out.
//
// The descriptor is unix's own (`unixFile.h`, the fourth field since SQLite 3.7), checked against
// the file's path by device and inode when opened and by inode at every remap; a second descriptor
// of our own would not do, since closing any descriptor of a file drops the process's POSIX locks
// on it. When the check fails the file is left to unix, mapped as unix maps it.
#define _GNU_SOURCE  // mremap
#include "hush_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

typedef struct HushFile {
    sqlite3_file base;        // pMethods: `hushMethods`, or NULL when the open failed
    sqlite3_file *real;       // the wrapped file, in the same allocation, after this struct
    int fd;                   // unix's descriptor when this wrapper maps the file; -1 otherwise
    ino_t inode;
    int fetchesOut;           // pages of the mapping handed out and not yet given back
    sqlite3_int64 limit;      // the most to map (PRAGMA mmap_size); 0 maps nothing
    unsigned char *map;
    sqlite3_int64 mapBytes;   // bytes of the mapping (may run past the end of the file)
    sqlite3_int64 validBytes; // of those, inside the file when last measured
    // Whether `validBytes` is the file's size as this connection can know it: set by a
    // measure, cleared when the file may have grown (this connection wrote past it, or another
    // committed: xUnfetch with no pointer). While set, a page past the end is not measured for
    // again: the pager asks for every page a write transaction adds (pager.c, getPageMMap looks
    // in the mapping before its cache), and a measure per page was a tenth of an import's time.
    int measured;
    sqlite3_int64 measures;   // times the file was measured (fstat), for tests
} HushFile;

// The mapping grows in steps of this many bytes past the end of the file, so that a file that
// grows a page at a time is not remapped at every page.
static const sqlite3_int64 growthStep = 64 << 20;

static sqlite3_vfs *realVfs;
static sqlite3_vfs hushVfs;
static int registered = SQLITE_ERROR;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static size_t realOffset(void) { return (sizeof(HushFile) + 15) & ~(size_t)15; }

#define REAL(f) (((HushFile *)(f))->real)
#define CALL(f, method, ...) REAL(f)->pMethods->method(REAL(f), ##__VA_ARGS__)

static void unmapFile(HushFile *p) {
    if (p->map) munmap(p->map, (size_t)p->mapBytes);
    p->map = NULL;
    p->mapBytes = 0;
    p->validBytes = 0;
    p->measured = 0;
}

// Measures the file and maps it up to `limit`, keeping what was mapped where it can. Only called
// while no page of the mapping is out. A failure leaves the file unmapped for good: the pager
// then reads every page, which is slower and still right.
static void remapFile(HushFile *p) {
    struct stat st;
    p->measures++;
    if (fstat(p->fd, &st) != 0 || st.st_ino != p->inode) {
        unmapFile(p);
        p->limit = 0;
        return;
    }
    sqlite3_int64 size = st.st_size < p->limit ? st.st_size : p->limit;
    if (size <= 0) {
        unmapFile(p);
        p->measured = 1;
        return;
    }
    if (size <= p->mapBytes) {
        p->validBytes = size;
        p->measured = 1;
        return;
    }
    sqlite3_int64 want = (size + growthStep - 1) / growthStep * growthStep;
    if (want > p->limit) want = size;
    void *map = p->map ? mremap(p->map, (size_t)p->mapBytes, (size_t)want, MREMAP_MAYMOVE)
                       : mmap(NULL, (size_t)want, PROT_READ, MAP_SHARED, p->fd, 0);
    if (map == MAP_FAILED) {
        unmapFile(p);
        p->limit = 0;
        return;
    }
    p->map = map;
    p->mapBytes = want;
    p->validBytes = size;
    p->measured = 1;
}

static int hushClose(sqlite3_file *f) {
    HushFile *p = (HushFile *)f;
    unmapFile(p);
    return CALL(f, xClose);
}

static int hushRead(sqlite3_file *f, void *buffer, int amount, sqlite3_int64 offset) { return CALL(f, xRead, buffer, amount, offset); }
static int hushWrite(sqlite3_file *f, const void *buffer, int amount, sqlite3_int64 offset) {
    HushFile *p = (HushFile *)f;
    if (p->fd >= 0 && offset + amount > p->validBytes) {
        // The file grows (this connection's checkpoint): measured again before the next page
        // is handed out, as after another connection's commit. Until then pages are read.
        p->validBytes = 0;
        p->measured = 0;
    }
    return CALL(f, xWrite, buffer, amount, offset);
}
static int hushSync(sqlite3_file *f, int flags) { return CALL(f, xSync, flags); }
static int hushFileSize(sqlite3_file *f, sqlite3_int64 *size) { return CALL(f, xFileSize, size); }
static int hushLock(sqlite3_file *f, int level) { return CALL(f, xLock, level); }
static int hushUnlock(sqlite3_file *f, int level) { return CALL(f, xUnlock, level); }
static int hushCheckReservedLock(sqlite3_file *f, int *out) { return CALL(f, xCheckReservedLock, out); }
static int hushSectorSize(sqlite3_file *f) { return CALL(f, xSectorSize); }
static int hushDeviceCharacteristics(sqlite3_file *f) { return CALL(f, xDeviceCharacteristics); }
static int hushShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) { return CALL(f, xShmMap, region, size, extend, out); }
static int hushShmLock(sqlite3_file *f, int offset, int n, int flags) { return CALL(f, xShmLock, offset, n, flags); }
static void hushShmBarrier(sqlite3_file *f) { CALL(f, xShmBarrier); }
static int hushShmUnmap(sqlite3_file *f, int deleteFlag) { return CALL(f, xShmUnmap, deleteFlag); }

static int hushTruncate(sqlite3_file *f, sqlite3_int64 size) {
    HushFile *p = (HushFile *)f;
    if (p->fd >= 0 && size < p->validBytes) p->validBytes = size;
    return CALL(f, xTruncate, size);
}

static int hushFileControl(sqlite3_file *f, int op, void *arg) {
    HushFile *p = (HushFile *)f;
    if (p->fd >= 0 && op == SQLITE_FCNTL_MMAP_SIZE) {
        // Kept here and not passed on: unix would cap it and map the file a second time.
        sqlite3_int64 asked = *(sqlite3_int64 *)arg;
        *(sqlite3_int64 *)arg = p->limit;
        if (asked >= 0 && asked != p->limit && p->fetchesOut == 0) {
            p->limit = asked;
            p->measured = 0;
            if (asked < p->mapBytes) unmapFile(p);
        }
        return SQLITE_OK;
    }
    return CALL(f, xFileControl, op, arg);
}

// Whether the wrapped file has xFetch and xUnfetch (version 3): ours always claims them.
static int realFetches(sqlite3_file *f) { return REAL(f)->pMethods->iVersion >= 3; }

// One prefetch per 64-byte line of `bytes`, for reading, into every level of the cache.
static inline void prefetchPage(const unsigned char *bytes, int amount) {
    for (int at = 0; at < amount; at += 64) __builtin_prefetch(bytes + at, 0, 3);
}

static int hushFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    HushFile *p = (HushFile *)f;
    if (p->fd < 0) {
        if (realFetches(f)) return CALL(f, xFetch, offset, amount, out);
        *out = NULL;
        return SQLITE_OK;
    }
    *out = NULL;
    if (p->limit <= 0) return SQLITE_OK;
    if (offset + amount > p->validBytes && !p->measured && p->fetchesOut == 0) remapFile(p);
    if (p->map && offset + amount <= p->validBytes) {
        *out = p->map + offset;
        p->fetchesOut++;
        // The whole page is asked into the core's first-level cache before the pager has it.
        // A lookup's leaf page is cold (requests spread over millions of customers), and
        // SQLite's search of it is a chain of dependent loads: the header, the cell pointers,
        // then a cell at each step of a binary search, each a miss waiting for the one before.
        // Asked for at once, the misses overlap. A page already cached costs a few cycles.
        // (Into L1: prefetching into the outer caches only was no faster than not at all.)
        prefetchPage(p->map + offset, amount);
    }
    return SQLITE_OK;
}

static int hushUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    HushFile *p = (HushFile *)f;
    if (p->fd < 0) return realFetches(f) ? CALL(f, xUnfetch, offset, page) : SQLITE_OK;
    if (page) {
        p->fetchesOut--;
    } else {
        // Measured again before the next page is handed out; the mapping stays.
        p->validBytes = 0;
        p->measured = 0;
    }
    return SQLITE_OK;
}

static const sqlite3_io_methods hushMethods = {
    3,
    hushClose, hushRead, hushWrite, hushTruncate, hushSync, hushFileSize,
    hushLock, hushUnlock, hushCheckReservedLock, hushFileControl, hushSectorSize, hushDeviceCharacteristics,
    hushShmMap, hushShmLock, hushShmBarrier, hushShmUnmap,
    hushFetch, hushUnfetch,
};

static int hushOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    HushFile *p = (HushFile *)f;
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->real = (sqlite3_file *)((char *)p + realOffset());
    int rc = realVfs->xOpen(realVfs, name, p->real, flags, outFlags);
    if (rc != SQLITE_OK || p->real->pMethods == NULL) {
        p->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    p->base.pMethods = &hushMethods;
    // A version-3 file of unix's whose fourth field is a descriptor of this very file.
    if ((flags & SQLITE_OPEN_MAIN_DB) && name && p->real->pMethods->iVersion >= 3) {
        int fd = *(int *)((char *)p->real + 3 * sizeof(void *));
        struct stat opened, named;
        if (fd >= 0 && fstat(fd, &opened) == 0 && stat(name, &named) == 0 && S_ISREG(opened.st_mode)
            && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino) {
            p->fd = fd;
            p->inode = opened.st_ino;
        }
    }
    return SQLITE_OK;
}

static int hushDelete(sqlite3_vfs *v, const char *name, int syncDir) { (void)v; return realVfs->xDelete(realVfs, name, syncDir); }
static int hushAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return realVfs->xAccess(realVfs, name, flags, out); }
static int hushFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return realVfs->xFullPathname(realVfs, name, n, out); }
static void *hushDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return realVfs->xDlOpen(realVfs, name); }
static void hushDlError(sqlite3_vfs *v, int n, char *out) { (void)v; realVfs->xDlError(realVfs, n, out); }
static void (*hushDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) { (void)v; return realVfs->xDlSym(realVfs, handle, symbol); }
static void hushDlClose(sqlite3_vfs *v, void *handle) { (void)v; realVfs->xDlClose(realVfs, handle); }
static int hushRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return realVfs->xRandomness(realVfs, n, out); }
static int hushSleep(sqlite3_vfs *v, int micros) { (void)v; return realVfs->xSleep(realVfs, micros); }
static int hushCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return realVfs->xCurrentTime(realVfs, out); }
static int hushGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return realVfs->xGetLastError(realVfs, n, out); }
static int hushCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return realVfs->xCurrentTimeInt64(realVfs, out); }

static void registerOnce(void) {
    realVfs = sqlite3_vfs_find(NULL);
    // Version 2 or more: xCurrentTimeInt64 is there. The system-call overrides stay unix's own.
    if (realVfs == NULL || realVfs->iVersion < 2) return;
    hushVfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)realOffset() + realVfs->szOsFile,
        .mxPathname = realVfs->mxPathname,
        .zName = HUSH_VFS_NAME,
        .xOpen = hushOpen,
        .xDelete = hushDelete,
        .xAccess = hushAccess,
        .xFullPathname = hushFullPathname,
        .xDlOpen = hushDlOpen,
        .xDlError = hushDlError,
        .xDlSym = hushDlSym,
        .xDlClose = hushDlClose,
        .xRandomness = hushRandomness,
        .xSleep = hushSleep,
        .xCurrentTime = hushCurrentTime,
        .xGetLastError = hushGetLastError,
        .xCurrentTimeInt64 = hushCurrentTimeInt64,
    };
    registered = sqlite3_vfs_register(&hushVfs, 0);
}

int hush_vfs_register(void) {
    pthread_once(&once, registerOnce);
    return registered;
}

// The wrapper of `db`'s main file when it maps it; NULL otherwise.
static HushFile *mappedFile(sqlite3 *db) {
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == NULL) return NULL;
    if (file->pMethods != &hushMethods) return NULL;
    HushFile *p = (HushFile *)file;
    return p->fd >= 0 ? p : NULL;
}

sqlite3_int64 hush_vfs_mapped_bytes(sqlite3 *db) {
    HushFile *p = mappedFile(db);
    return p ? p->validBytes : -1;
}

sqlite3_int64 hush_vfs_measures(sqlite3 *db) {
    HushFile *p = mappedFile(db);
    return p ? p->measures : -1;
}
