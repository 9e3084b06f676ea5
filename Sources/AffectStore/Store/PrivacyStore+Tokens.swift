import AffectCore
import Foundation

/// What a person or an API token may do. Every role but admin reaches only the studies it was given
/// (a researcher also those it created); ``Permission`` says what each role may do in them.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Everything: every study, users, tokens, the audit log, the nodes.
    case admin
    /// Runs studies: creates them, and in its studies uploads stimuli, makes links, releases, answers subjects.
    case researcher
    /// Reads the results and reports of the studies shared with it.
    case analyst
    /// Reviews the audience moments of the studies shared with it.
    case reviewer
}

extension PrivacyStore {
    /// A token as stored: never the secret itself.
    public struct APIToken: Sendable, Hashable, Codable {
        public var id: String
        public var name: String
        public var role: Role
        public var createdAt: Int64
        /// When it last authenticated a request (to the minute), if ever.
        public var lastUsedAt: Int64?
        public var revokedAt: Int64?

        init(row: SQLRow) throws {
            id = try row.text("id")
            name = try row.text("name")
            guard let role = Role(rawValue: try row.text("role")) else { throw StoreError.corruptRow(column: "role") }
            self.role = role
            createdAt = try row.integer("created_at")
            lastUsedAt = row["last_used_at"].int64
            revokedAt = row["revoked_at"].int64
        }
    }

    /// Creates a token reaching `studies` (ids or names; an admin token reaches every study); returns it
    /// with its secret, which is shown once and stored only as a SHA-256.
    public func createToken(name: String, role: Role, studies: [String] = [], actor: String) async throws -> (APIToken, secret: String) {
        try Self.checkTokenName(name)
        // No control characters: no study id or name has one (InputRules), and the database refuses NUL.
        guard studies.count <= 1000, studies.allSatisfy({ reference in
            !reference.isEmpty && reference.unicodeScalars.count <= InputRules.maximumNameLength
                && !reference.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }) else {
            throw StoreError.invalidInput("a token may be given at most 1000 studies, each an id or a name")
        }
        return try await database.transaction { transaction in
            let created = try await self.insertToken(transaction, name: name, role: role, actor: actor)
            // An admin token reaches every study: it needs none given.
            for study in role == .admin ? [] : studies {
                try await self.grant(transaction, study: study, to: created.0.id, actor: actor)
            }
            return created
        }
    }

    /// Every token, newest first (revoked ones too, for the record).
    public func tokens() async throws -> [APIToken] {
        try await database.transaction { transaction in
            try await transaction.query("SELECT * FROM api_tokens ORDER BY created_at DESC, id").map(APIToken.init(row:))
        }
    }

    /// Revokes a token: it stops working at once, on every server.
    public func revokeToken(_ id: String, actor: String) async throws -> APIToken {
        try Identifier.validate(id, as: .token)
        return try await database.transaction { transaction in
            let now = Clock.nowMilliseconds()
            try await transaction.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                          [.integer(now), .text(id)])
            guard let row = try await transaction.query("SELECT * FROM api_tokens WHERE id = ?", [.text(id)]).first else {
                throw StoreError.unknownToken(id)
            }
            try await transaction.execute("DELETE FROM study_access WHERE grantee = ?", [.text(id)])
            try await self.audit(transaction, actor: actor, action: "token.revoke", subject: id)
            return try APIToken(row: row)
        }
    }

    private static func checkTokenName(_ name: String) throws {
        do {
            try InputRules.label(name, field: "a token name")
        } catch {
            throw StoreError.invalidInput(error.description)
        }
    }

    private func insertToken(_ transaction: any SQLTransaction, name: String, role: Role,
                             actor: String) async throws -> (APIToken, secret: String) {
        let secret = "afk_" + Identifier.randomHex(words: 4)
        let id = Identifier.make(.token)
        let now = Clock.nowMilliseconds()
        try await transaction.execute(
            "INSERT INTO api_tokens (id, name, role, token_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)",
            [.text(id), .text(name), .text(role.rawValue), .text(Self.digest(secret)), .integer(now)])
        try await audit(transaction, actor: actor, action: "token.create", subject: id,
                        details: ["name": name, "role": role.rawValue])
        let row = try await transaction.query("SELECT * FROM api_tokens WHERE id = ?", [.text(id)])
        guard let created = row.first else { throw StoreError.corruptRow(column: "id") }
        return (try APIToken(row: created), secret)
    }

    /// The token a secret belongs to, or nil for an unknown or revoked one.
    public func authenticate(secret: String) async throws -> APIToken? {
        guard secret.hasPrefix("afk_"), secret.count == 68 else { return nil }
        return try await database.transaction { transaction in
            guard let row = try await transaction.query(
                "SELECT * FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", [.text(Self.digest(secret))]).first
            else { return nil }
            var token = try APIToken(row: row)
            // Last use to the minute: one write a minute per busy token, not one per request.
            let now = Clock.nowMilliseconds()
            if (token.lastUsedAt ?? 0) < now - 60_000 {
                try await transaction.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [.integer(now), .text(token.id)])
                token.lastUsedAt = now
            }
            return token
        }
    }

    static func digest(_ secret: String) -> String {
        Identifier.sha256Hex(secret)
    }
}
