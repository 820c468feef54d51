import CLinux

/// glibc's allocator, set for a long-running server that moves much data through many threads.
/// By default glibc gives memory back to the kernel as soon as a thread's heap shrinks, and
/// serves blocks above 128 KiB to 32 MiB from fresh mappings: a process that reads and writes
/// in batches (a node's snapshot, an import, the decision log's segments) then spends most of
/// its time in page faults, faulting the same memory in again batch after batch (a node's first
/// image of 1,000,000 customers took 176 s so, 92 s with these settings; README, "Beyond one
/// machine"). Kept: up to 256 MiB of free memory per heap, and mappings only for blocks of
/// 32 MiB and more. `GLIBC_TUNABLES` (glibc.malloc.*) still overrides both.
public enum MemoryTuning {
    public static func apply() {
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
    }
}
