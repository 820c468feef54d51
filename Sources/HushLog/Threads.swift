import CLinux
import Foundation

/// Starts `body` on a thread of its own named `name` (at most 15 bytes, as the kernel keeps it),
/// so that `top -H` and `/proc/<pid>/task/*/comm` tell the log's threads apart.
func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    precondition(name.utf8.count <= 15, "thread names are at most 15 bytes")
    let thread = Thread {
        _ = pthread_setname_np(pthread_self(), name)
        body()
    }
    thread.name = name
    thread.start()
}
