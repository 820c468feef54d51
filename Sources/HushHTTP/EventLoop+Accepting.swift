import Synchronization
import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Accepting connections: each loop accepts from the shared listener and hands a connection to
/// the loop with the fewest; past the cap, or out of descriptors, it sheds instead of spinning.
extension EventLoop {
    // MARK: - Accepting

    func acceptConnections() {
        // A bounded batch per wake-up, so one loop does not starve its own connections.
        for _ in 0..<64 {
            let fd = accept4(shared.listenerFD, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINVAL: return // the listener was shut down for a drain
                case EINTR, ECONNABORTED, EPROTO, EPERM: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    shedOneConnection()
                    return
                default:
                    shared.log("accept4: \(String(cString: strerror(errno)))")
                    return
                }
            }
            guard shared.openConnections.add(1, ordering: .relaxed).newValue <= shared.limits.maxConnections, !draining else {
                shared.openConnections.subtract(1, ordering: .relaxed)
                closeFD(fd)
                continue
            }
            let target = shared.assignConnection(preferring: index)
            if target != index {
                if let other = shared.loop(target) {
                    other.post(.adopt(fd: fd))
                    continue
                }
                shared.loopLoads[target].count.subtract(1, ordering: .relaxed)
                shared.loopLoads[index].count.add(1, ordering: .relaxed)
            }
            register(fd)
        }
    }

    /// Closes a connection given to this loop that it will not serve.
    func dropAssigned(_ fd: Int32) {
        shared.openConnections.subtract(1, ordering: .relaxed)
        shared.loopLoads[index].count.subtract(1, ordering: .relaxed)
        closeFD(fd)
    }

    /// Serves `fd`, already counted in `openConnections` and this loop's load.
    func register(_ fd: Int32) {
        Socket.setNoDelay(fd)
        var session: TLSSession?
        if let context = shared.tls {
            guard let created = TLSSession(context: context, fd: fd) else {
                dropAssigned(fd)
                return
            }
            session = created
        }
        let connection = Connection(fd: fd, limits: shared.limits, tls: session)
        if Int(fd) >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: Int(fd) + 1 - connections.count + 64))
        }
        connections[Int(fd)] = connection
        liveConnections += 1
        do {
            try control(EPOLL_CTL_ADD, fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
            connection.registeredEvents = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        } catch {
            shared.log("\(error)")
            close(connection)
            return
        }
        // A new connection has the header timeout to send its first request.
        setPhaseDeadline(connection, now + shared.headerTimeoutNanos)
    }

    func shedOneConnection() {
        if spareFD >= 0 {
            closeFD(spareFD)
            let fd = accept4(shared.listenerFD, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 { closeFD(fd) }
            spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        if spareFD < 0 {
            // No spare either: stop watching the listener for a moment rather than spin on it.
            if listenerRegistered {
                _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, shared.listenerFD, nil)
                listenerRegistered = false
            }
            acceptPausedUntil = now + 100_000_000
        }
        shared.logThrottled("out of file descriptors: a new connection was closed at once")
    }

    func resumeAccepting() {
        acceptPausedUntil = 0
        if spareFD < 0 { spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        if !listenerRegistered, !draining {
            listenerRegistered = (try? control(EPOLL_CTL_ADD, shared.listenerFD, EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)) != nil
        }
    }
}
