import AffectCore
import Foundation

extension PrivacyStore {
    /// A person who signs in to the console; never their password, which is stored only as a hash.
    public struct User: Sendable, Hashable, Codable {
        public var id: String
        public var name: String
        public var role: Role
        public var createdAt: Int64
        /// Set when the account was disabled: it can no longer sign in and its sessions are gone.
        public var disabledAt: Int64?

        init(row: SQLRow) throws {
            id = try row.text("id")
            name = try row.text("name")
            guard let role = Role(rawValue: try row.text("role")) else { throw StoreError.corruptRow(column: "role") }
            self.role = role
            createdAt = try row.integer("created_at")
            disabledAt = row["disabled_at"].int64
        }

        static let columns = "id, name, role, created_at, disabled_at"
    }

    /// A user name: 1 to 64 ASCII letters, digits and `. _ @ -` (an e-mail address fits), compared
    /// without case. Plain ASCII, so no two names look alike and the rule fits a one-line pattern.
    public static func checkUserName(_ name: String) throws(StoreError) {
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._@-".unicodeScalars.contains($0)) }
        guard (1...64).contains(name.unicodeScalars.count), allowed else {
            throw .invalidInput("a user name is 1 to 64 letters (a-z), digits and . _ @ -")
        }
    }

    /// Adds a person who signs in with `name` and `password`.
    public func addUser(name: String, role: Role, password: String, actor: String) async throws -> User {
        try Self.checkUserName(name)
        try PasswordHash.check(password)
        let hash = try await PasswordHash.make(password)
        return try await database.transaction { transaction in
            try await self.insertUser(transaction, name: name, role: role, hash: hash, actor: actor)
        }
    }

    func insertUser(_ transaction: any SQLTransaction, name: String, role: Role, hash: String, actor: String) async throws -> User {
        let id = Identifier.make(.user)
        let now = Clock.nowMilliseconds()
        // Names are unique without case (an index on lower(name)): one statement decides between
        // concurrent adds of one name.
        let inserted = try await transaction.query(
            """
            INSERT INTO users (id, name, role, password_hash, created_at, disabled_at, password_changed_at)
            VALUES (?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING RETURNING \(User.columns)
            """,
            [.text(id), .text(name), .text(role.rawValue), .text(hash), .integer(now), .integer(now)])
        guard let row = inserted.first else { throw StoreError.duplicate("a user named '\(name)' already exists") }
        try await audit(transaction, actor: actor, action: "user.add", subject: id, details: ["name": name, "role": role.rawValue])
        return try User(row: row)
    }

    /// Everyone who can or could sign in, by name.
    public func users() async throws -> [User] {
        try await database.transaction { transaction in
            try await transaction.query("SELECT \(User.columns) FROM users ORDER BY lower(name)").map(User.init(row:))
        }
    }

    /// A user by id or by name.
    public func user(_ reference: String) async throws -> User {
        try await database.transaction { transaction in try await self.loadUser(transaction, reference: reference) }
    }

    func loadUser(_ transaction: any SQLTransaction, reference: String) async throws -> User {
        let rows = try await transaction.query(
            "SELECT \(User.columns) FROM users WHERE id = ? OR lower(name) = lower(?)", [.text(reference), .text(reference)])
        guard let row = rows.first else { throw StoreError.unknownUser(reference) }
        return try User(row: row)
    }

    /// Disables an account: it cannot sign in again and every browser signed in as it is signed out.
    /// The last enabled admin cannot be disabled (nobody could manage users any more).
    public func disableUser(_ reference: String, actor: String) async throws -> User {
        try await database.transaction { transaction in
            try await transaction.serialise(on: .firstAdmin)
            var user = try await self.loadUser(transaction, reference: reference)
            if user.disabledAt != nil { return user }
            if user.role == .admin {
                let admins = try await transaction.query("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL")
                if admins.count <= 1 { throw StoreError.conflict("the last admin cannot be disabled (add another admin first)") }
            }
            let now = Clock.nowMilliseconds()
            try await transaction.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [.integer(now), .text(user.id)])
            try await transaction.execute("DELETE FROM web_sessions WHERE user_id = ?", [.text(user.id)])
            try await self.audit(transaction, actor: actor, action: "user.disable", subject: user.id, details: ["name": user.name])
            user.disabledAt = now
            return user
        }
    }

    /// Changes a user's password after checking the current one; signs out every other browser.
    /// Returns false when `current` is wrong.
    public func changePassword(user id: String, current: String, new password: String, keeping session: String?,
                               actor: String) async throws -> Bool {
        try PasswordHash.check(password)
        let stored = try await database.transaction { transaction in
            try await transaction.query("SELECT password_hash FROM users WHERE id = ? AND disabled_at IS NULL", [.text(id)])
                .first?["password_hash"].string
        }
        guard try await PasswordHash.verify(current, against: stored), let stored else { return false }
        let hash = try await PasswordHash.make(password)
        return try await database.transaction { transaction in
            // Only if nobody changed it meanwhile: the check above was against this hash.
            let changed = try await transaction.query(
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND password_hash = ? RETURNING id",
                [.text(hash), .integer(Clock.nowMilliseconds()), .text(id), .text(stored)])
            guard !changed.isEmpty else { return false }
            try await transaction.execute("DELETE FROM web_sessions WHERE user_id = ? AND secret_sha256 <> ?",
                                          [.text(id), .text(session.map(Self.digest) ?? "")])
            try await self.audit(transaction, actor: actor, action: "user.password", subject: id)
            return true
        }
    }
}
