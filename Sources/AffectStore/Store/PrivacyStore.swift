import AffectCore
import Foundation

/// Affect's one store: studies, consent, sessions, results and the audit log, with the
/// privacy rules enforced where data is written.
///
/// The rules live here once, above ``SQLDatabase``; SQLite and PostgreSQL only run the
/// statements. Every method that changes data appends an audit event in the same
/// transaction, so a change and its record commit or fail together.
public final class PrivacyStore: Sendable {
    public let database: any SQLDatabase
    /// The newest schema migration this Affect knows (a database it opens is brought to it).
    public static var schemaVersion: Int { Schema.latestVersion }
    /// How long a running session's owner may go without renewing its lease before the session
    /// counts as interrupted (its server died): see ``interruptExpiredSessions(actor:)``.
    public let sessionLeaseMilliseconds: Int64

    /// The lease when none is given: long enough for a busy server to renew (it renews every third
    /// of it), short enough that a crashed server's sessions are settled within a minute.
    public static let defaultSessionLeaseMilliseconds: Int64 = 30_000

    /// Wraps an open database, bringing its schema up to date.
    public init(database: any SQLDatabase, sessionLeaseMilliseconds: Int64 = PrivacyStore.defaultSessionLeaseMilliseconds) async throws {
        self.database = database
        self.sessionLeaseMilliseconds = max(1_000, sessionLeaseMilliseconds)
        try await Schema.migrate(database)
    }

    /// Opens the database at `location` and migrates it.
    public static func open(_ location: DatabaseLocation,
                            sessionLeaseMilliseconds: Int64 = PrivacyStore.defaultSessionLeaseMilliseconds) async throws -> PrivacyStore {
        try await PrivacyStore(database: location.open(), sessionLeaseMilliseconds: sessionLeaseMilliseconds)
    }

    public func close() async throws {
        try await database.close()
    }

    /// Appends one audit event inside `transaction`, chained to the last one.
    func audit(_ transaction: any SQLTransaction, actor: String, action: String, subject: String,
               details: [String: String] = [:]) async throws {
        if database.dialect == .postgres {
            // Concurrent writers would otherwise read the same head and fork the chain.
            try await transaction.execute("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")
        }
        let head = try await transaction.query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").first
        let sequence = (head?["seq"].int64 ?? 0) + 1
        let previous = head?["hash"].string ?? AuditChain.genesis
        let at = Clock.nowMilliseconds()
        let text = AuditChain.details(details)
        let hash = AuditChain.hash(sequence: sequence, at: at, actor: actor, action: action, subject: subject,
                                   details: text, previousHash: previous)
        try await transaction.execute(
            "INSERT INTO audit_events (seq, at, actor, action, subject, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [.integer(sequence), .integer(at), .text(actor), .text(action), .text(subject), .text(text), .text(previous), .text(hash)])
    }
}
