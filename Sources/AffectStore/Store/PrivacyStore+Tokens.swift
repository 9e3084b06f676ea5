import AffectCore
import Foundation

/// Who may use the API.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Everything, including creating studies and tokens.
    case admin
    /// Reads studies and results.
    case analyst
}

extension PrivacyStore {
    /// A token as stored: never the secret itself.
    public struct APIToken: Sendable, Hashable, Codable {
        public var id: String
        public var name: String
        public var role: Role
        public var createdAt: Int64
    }

    /// Creates a token; returns it with its secret, which is shown once and stored only as a SHA-256.
    public func createToken(name: String, role: Role, actor: String) async throws -> (APIToken, secret: String) {
        try Self.checkTokenName(name)
        return try await database.transaction { transaction in
            try await self.insertToken(transaction, name: name, role: role, actor: actor)
        }
    }

    /// Creates the first admin token when no usable admin token exists, and returns it with its
    /// secret; nil when there is one already. Servers started together on one database create one
    /// between them: the check and the insert hold ``SerialLock/firstAdminToken``.
    public func createFirstAdminToken(name: String, actor: String) async throws -> (APIToken, secret: String)? {
        try Self.checkTokenName(name)
        return try await database.transaction { transaction in
            try await transaction.serialise(on: .firstAdminToken)
            guard try await transaction.query("SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL").isEmpty
            else { return nil }
            return try await self.insertToken(transaction, name: name, role: .admin, actor: actor)
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
        return (APIToken(id: id, name: name, role: role, createdAt: now), secret)
    }

    /// The token a secret belongs to, or nil for an unknown or revoked one.
    public func authenticate(secret: String) async throws -> APIToken? {
        guard secret.hasPrefix("afk_"), secret.count == 68 else { return nil }
        return try await database.transaction { transaction in
            guard let row = try await transaction.query(
                "SELECT * FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL", [.text(Self.digest(secret))]).first,
                let role = Role(rawValue: try row.text("role")) else { return nil }
            return APIToken(id: try row.text("id"), name: try row.text("name"), role: role, createdAt: try row.integer("created_at"))
        }
    }

    static func digest(_ secret: String) -> String {
        Identifier.sha256Hex(secret)
    }
}
