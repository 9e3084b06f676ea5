/// One entry of the append-only, hash-chained audit log.
public struct AuditEvent: Sendable, Hashable, Codable {
    public var sequence: Int64
    /// Milliseconds since 1970.
    public var at: Int64
    /// Who acted: `cli:<user>`, `server:<token name>`, `system`.
    public var actor: String
    /// What happened, e.g. `study.create`, `consent.withdraw`, `purge`.
    public var action: String
    /// The id the action concerns.
    public var subject: String
    /// Details as JSON with sorted keys.
    public var details: String
    public var previousHash: String
    public var hash: String

    init(row: SQLRow) throws {
        sequence = try row.integer("seq")
        at = try row.integer("at")
        actor = try row.text("actor")
        action = try row.text("action")
        subject = try row.text("subject")
        details = try row.text("details")
        previousHash = try row.text("previous_hash")
        hash = try row.text("hash")
    }

    init(sequence: Int64, at: Int64, actor: String, action: String, subject: String, details: String,
         previousHash: String, hash: String) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }
}
