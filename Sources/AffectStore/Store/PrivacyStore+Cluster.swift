import AffectCore

/// What one server process tells the others through the database's notifications.
public enum ClusterMessage: Sendable, Equatable {
    /// The session's consent was withdrawn or its data deleted: the node running it stops its capture
    /// and every dashboard drops it.
    case stop(session: String)
    /// The node published its sessions' status: dashboards elsewhere may read it now rather than at
    /// their next poll.
    case live(node: String)

    /// The one channel every node listens on.
    public static let channel = "affect_cluster"

    public var payload: String {
        switch self {
        case .stop(let session): "stop \(session)"
        case .live(let node): "live \(node)"
        }
    }

    public init?(payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "stop": self = .stop(session: parts[1])
        case "live": self = .live(node: parts[1])
        default: return nil
        }
    }
}

/// Several servers on one database: each registers itself as a node with a heartbeat, publishes
/// what its dashboard shows of the sessions it runs, and reads the others'.
extension PrivacyStore {
    /// A server process on this database.
    public struct Node: Sendable, Equatable, Codable {
        public var id: String
        /// Where it serves (`http://host:port`), as it was started.
        public var address: String
        public var startedAt: Int64
        public var heartbeatAt: Int64
        /// Shutting down: it takes no new sessions and sends its pages elsewhere.
        public var draining: Bool
        /// Whether it takes new sessions (not draining, not at the top of its load ladder).
        public var ready: Bool
        /// Capture sessions it runs.
        public var sessions: Int
        /// Milliseconds since its last heartbeat, on the database's clock.
        public var silentForMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case id, address, draining, ready, sessions
            case startedAt = "started_at", heartbeatAt = "heartbeat_at", silentForMilliseconds = "silent_for_ms"
        }

        public init(id: String, address: String, startedAt: Int64 = 0, heartbeatAt: Int64 = 0, draining: Bool = false,
                    ready: Bool = true, sessions: Int = 0, silentForMilliseconds: Int64 = 0) {
            self.id = id
            self.address = address
            self.startedAt = startedAt
            self.heartbeatAt = heartbeatAt
            self.draining = draining
            self.ready = ready
            self.sessions = sessions
            self.silentForMilliseconds = silentForMilliseconds
        }
    }

    /// One session's status as a node published it: `status` is the dashboard's JSON, opaque here.
    public struct PublishedStatus: Sendable, Equatable {
        public var session: String
        public var study: String
        public var node: String
        /// The session's epoch in this capture: of two nodes publishing one session, the newer capture's wins.
        public var epoch: Int64
        public var status: String
        /// Milliseconds since the node last wrote it, on the database's clock.
        public var ageMilliseconds: Int64

        public init(session: String, study: String, node: String, epoch: Int64, status: String, ageMilliseconds: Int64 = 0) {
            self.session = session
            self.epoch = epoch
            self.study = study
            self.node = node
            self.status = status
            self.ageMilliseconds = ageMilliseconds
        }
    }

    /// How long a published status or a silent node's row is kept: as long as a dashboard shows an ended session.
    public static let publishedStatusLifetimeMilliseconds: Int64 = 600_000

    /// A node's once-a-second round, in one transaction: its heartbeat, the statuses of every session
    /// it shows (replacing what it published before), the removal of statuses and nodes silent for
    /// longer than ``publishedStatusLifetimeMilliseconds``, and a ``ClusterMessage/live(node:)``
    /// notification sent at commit. Not a result transaction: notifications serialise commits on
    /// PostgreSQL, so result batches never send them.
    public func publish(node: Node, statuses: [PublishedStatus]) async throws {
        try await database.transaction(deadline: .seconds(5)) { transaction in
            let now = transaction.nowMilliseconds
            try await transaction.execute(
                """
                INSERT INTO nodes (id, address, started_at, heartbeat_at, draining, ready, sessions)
                VALUES (?, ?, \(now), \(now), ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = \(now), draining = excluded.draining,
                    ready = excluded.ready, sessions = excluded.sessions, address = excluded.address
                """, [.text(node.id), .text(node.address), .integer(node.draining ? 1 : 0), .integer(node.ready ? 1 : 0),
                      .integer(Int64(node.sessions))])
            for status in statuses {
                // Each epoch of a session is one capture on one node; a resumed session's newer capture
                // takes the row over, and the node of the older one cannot take it back. A session deleted
                // meanwhile (a withdrawal on another node) is not written back.
                try await transaction.execute(
                    """
                    INSERT INTO live_status (session_id, node_id, study_id, epoch, status, updated_at)
                    SELECT ?, ?, ?, ?, ?, \(now) WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)
                    ON CONFLICT (session_id) DO UPDATE SET node_id = excluded.node_id, epoch = excluded.epoch,
                        status = excluded.status, updated_at = excluded.updated_at
                    WHERE excluded.epoch >= live_status.epoch
                    """, [.text(status.session), .text(node.id), .text(status.study), .integer(status.epoch), .text(status.status),
                          .text(status.session)])
            }
            let kept = statuses.map { SQLValue.text($0.session) }
            let placeholders = Array(repeating: "?", count: kept.count).joined(separator: ", ")
            try await transaction.execute(
                "DELETE FROM live_status WHERE node_id = ?" + (kept.isEmpty ? "" : " AND session_id NOT IN (\(placeholders))"),
                [.text(node.id)] + kept)
            let lifetime = Self.publishedStatusLifetimeMilliseconds
            try await transaction.execute("DELETE FROM live_status WHERE updated_at < \(now) - ?", [.integer(lifetime)])
            try await transaction.execute("DELETE FROM nodes WHERE heartbeat_at < \(now) - ?", [.integer(lifetime)])
            try await transaction.notify(ClusterMessage.channel, ClusterMessage.live(node: node.id).payload)
        }
    }

    /// A node leaving: its row and what it published go at once.
    public func removeNode(_ id: String) async throws {
        try await database.transaction(deadline: .seconds(5)) { transaction in
            try await transaction.execute("DELETE FROM live_status WHERE node_id = ?", [.text(id)])
            try await transaction.execute("DELETE FROM nodes WHERE id = ?", [.text(id)])
            try await transaction.notify(ClusterMessage.channel, ClusterMessage.live(node: id).payload)
        }
    }

    /// Every node on the database, oldest first.
    public func nodes() async throws -> [Node] {
        try await database.transaction { transaction in
            try await transaction.query(
                "SELECT *, \(transaction.nowMilliseconds) - heartbeat_at AS silent FROM nodes ORDER BY started_at, id"
            ).map { row in
                Node(id: try row.text("id"), address: try row.text("address"), startedAt: try row.integer("started_at"),
                     heartbeatAt: try row.integer("heartbeat_at"), draining: try row.integer("draining") != 0,
                     ready: try row.integer("ready") != 0, sessions: Int(try row.integer("sessions")),
                     silentForMilliseconds: try row.integer("silent"))
            }
        }
    }

    /// The statuses other nodes published.
    public func publishedStatuses(otherThan node: String) async throws -> [PublishedStatus] {
        try await database.transaction { transaction in
            try await transaction.query(
                """
                SELECT session_id, node_id, study_id, epoch, status, \(transaction.nowMilliseconds) - updated_at AS age
                FROM live_status WHERE node_id <> ? ORDER BY session_id
                """, [.text(node)]
            ).map { row in
                PublishedStatus(session: try row.text("session_id"), study: try row.text("study_id"), node: try row.text("node_id"),
                                epoch: try row.integer("epoch"), status: try row.text("status"), ageMilliseconds: try row.integer("age"))
            }
        }
    }

    /// The records a session stored after media time `after` (timed records past it, windows ending past
    /// it; all with nil; moments are not included), in the order they were written: how a dashboard follows a
    /// session another node runs. An unknown session (deleted meanwhile) has none.
    public func records(session id: String, after: Double?) async throws -> [MinimisedRecord] {
        try Identifier.validate(id, as: .session)
        return try await database.transaction { transaction in
            try await self.loadRecords(transaction, session: id, after: after).filter {
                if case .moment = $0 { return false }
                return true
            }
        }
    }

    /// Other nodes' messages, as they are sent; nil on SQLite, which has one server process.
    public func clusterMessages() -> AsyncCompactMapSequence<AsyncStream<SQLNotification>, ClusterMessage>? {
        database.notificationSource?.notifications(on: ClusterMessage.channel).compactMap { ClusterMessage(payload: $0.payload) }
    }
}
