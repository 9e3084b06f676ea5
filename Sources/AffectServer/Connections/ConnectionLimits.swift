import NIOCore

/// What one HTTP connection may hold of the server: how long it may take to send a request's head,
/// stay silent while sending a body or between requests, how large its head may be, and how many
/// connections may be open at once. Each is an attack's lever when unbounded: 200 connections that
/// each sent half a request used to stay open for minutes.
public struct ConnectionLimits: Sendable {
    /// From the connection's first byte (or the previous response) to the end of a request's head.
    public var headerTimeout: TimeAmount
    /// The longest silence while a request body is being sent (not the whole upload: a 2 GB stimulus takes minutes).
    public var bodyTimeout: TimeAmount
    /// How long a kept-alive connection may wait, idle, for its next request.
    public var idleTimeout: TimeAmount
    /// The largest request line plus headers, in bytes; larger heads are answered with 431.
    public var maximumHeaderBytes: Int
    /// Connections open at once (WebSockets and event streams included); the next is answered with 503.
    public var maximumConnections: Int

    public init(headerTimeout: TimeAmount = .seconds(10), bodyTimeout: TimeAmount = .seconds(30),
                idleTimeout: TimeAmount = .seconds(60), maximumHeaderBytes: Int = 32 * 1024, maximumConnections: Int = 1024) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumConnections = maximumConnections
    }
}
