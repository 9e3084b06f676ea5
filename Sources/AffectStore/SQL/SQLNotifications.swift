/// A message sent to every process listening on the database once the sending transaction commits
/// (PostgreSQL's `NOTIFY`). Notifications are not stored: a listener that was disconnected misses
/// them, so everything sent this way can also be found by polling the tables it announces.
public struct SQLNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// A database whose processes can notify each other (PostgreSQL). SQLite has one server process
/// and does not conform: what one process does, it already knows.
public protocol SQLNotificationSource: Sendable {
    /// Notifications on `channel` until the stream's consumer stops listening. A lost connection is
    /// reconnected after a pause; what was sent in between is missed.
    func notifications(on channel: String) -> AsyncStream<SQLNotification>
}

extension SQLTransaction {
    /// Sends `payload` on `channel` to every listening process when this transaction commits, and not
    /// at all when it rolls back. Nothing on SQLite, which has no other server process to tell.
    /// Payloads are short ids, well under PostgreSQL's 8000-byte limit.
    public func notify(_ channel: String, _ payload: String) async throws {
        guard dialect == .postgres else { return }
        try await execute("SELECT pg_notify(?, ?)", [.text(channel), .text(payload)])
    }
}
