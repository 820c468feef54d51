/// Hard limits and timeouts of the HTTP server. Every default is the one API.md
/// ("Limits") names; each can be configured.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line, CRLF excluded. Past it: 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Longest header section (all field lines, the request line excluded). Past it: 431.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields in one request. Past it: 431.
    public var maxHeaderCount: Int = 100
    /// Largest request body, unless a route sets its own limit. Past it: 413.
    public var maxBodyBytes: Int = 1024 * 1024
    /// Longest chunk-size line of a chunked body, extensions included. Past it: 400.
    public var maxChunkLineBytes: Int = 4 * 1024
    /// Time allowed to receive a whole header section once its first byte arrived (408, then close).
    public var headerTimeout: Duration = .seconds(10)
    /// Time allowed between two reads of a body that is still arriving (408, then close).
    public var bodyTimeout: Duration = .seconds(30)
    /// Time a keep-alive connection may sit idle between requests before it is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// Time an answer may wait in the send buffer without the peer reading any of it (close).
    public var writeTimeout: Duration = .seconds(30)
    /// Most open connections over all event loops; past it new ones are closed at once.
    public var maxConnections: Int = 10_000
    /// Bytes of answers that may wait for a slow reader before pipelined requests stop being read.
    public var maxPendingOutputBytes: Int = 1024 * 1024

    public init() {}
}
