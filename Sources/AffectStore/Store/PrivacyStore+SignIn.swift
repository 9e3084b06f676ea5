import AffectCore
import Foundation

extension PrivacyStore {
    /// How long a console sign-in lasts, whatever is done with it.
    public static let webSessionMilliseconds: Int64 = 12 * 3_600_000
    /// Sign-in attempts allowed per name, and per client address, in one ``signInWindowMilliseconds``.
    public static let signInAttemptsPerName: Int64 = 10
    public static let signInAttemptsPerAddress: Int64 = 50
    public static let signInWindowMilliseconds: Int64 = 15 * 60_000
    /// How long the first admin's setup link stays usable.
    public static let setupLinkMilliseconds: Int64 = 7 * 24 * 3_600_000

    /// What a sign-in came to.
    public enum SignIn: Sendable {
        /// Signed in: the cookie's secret (shown once; stored as SHA-256) and who.
        case signedIn(User, secret: String)
        /// Wrong name or password, or a disabled account: one answer for all three.
        case refused
        /// Too many attempts for this name or from this address: try again after the window.
        case throttled
    }

    /// Signs a person in. Each attempt is counted before the password is checked, per name and per
    /// address, each count one statement (so concurrent attempts cannot slip past the limit together);
    /// a success clears the name's count.
    public func signIn(name: String, password: String, address: String) async throws -> SignIn {
        guard (try? Self.checkUserName(name)) != nil, password.unicodeScalars.count <= PasswordHash.maximumLength else { return .refused }
        let (allowed, stored) = try await database.transaction { transaction -> (Bool, (id: String, hash: String)?) in
            let byName = try await self.countAttempt(transaction, key: "name:" + name.lowercased())
            let byAddress = try await self.countAttempt(transaction, key: "address:" + address)
            guard byName <= Self.signInAttemptsPerName, byAddress <= Self.signInAttemptsPerAddress else { return (false, nil) }
            let row = try await transaction.query(
                "SELECT id, password_hash FROM users WHERE lower(name) = lower(?) AND disabled_at IS NULL", [.text(name)]).first
            return (true, try row.map { (try $0.text("id"), try $0.text("password_hash")) })
        }
        guard allowed else { return .throttled }
        // Outside any transaction: a derivation takes a tenth of a second.
        guard try await PasswordHash.verify(password, against: stored?.hash), let stored else { return .refused }
        let secret = "aws_" + Identifier.randomHex(words: 4)
        return try await database.transaction { transaction in
            // Still enabled, with the password just checked.
            guard let row = try await transaction.query(
                "SELECT \(User.columns) FROM users WHERE id = ? AND password_hash = ? AND disabled_at IS NULL",
                [.text(stored.id), .text(stored.hash)]).first else { return .refused }
            let user = try User(row: row)
            let now = Clock.nowMilliseconds()
            try await transaction.execute(
                "INSERT INTO web_sessions (secret_sha256, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(Self.digest(secret)), .text(user.id), .integer(now), .integer(now + Self.webSessionMilliseconds)])
            try await transaction.execute("DELETE FROM sign_in_attempts WHERE key = ?", [.text("name:" + name.lowercased())])
            // Sessions past their end go as new ones come, so the table holds only live ones.
            try await transaction.execute("DELETE FROM web_sessions WHERE expires_at < ?", [.integer(now)])
            try await self.audit(transaction, actor: "user:\(user.name)", action: "user.sign-in", subject: user.id)
            return .signedIn(user, secret: secret)
        }
    }

    /// Counts one attempt under `key` in the current window and returns the count so far, in one
    /// statement. Windows that have ended are cleared as they are met, so the table stays small.
    private func countAttempt(_ transaction: any SQLTransaction, key: String) async throws -> Int64 {
        let now = Clock.nowMilliseconds()
        let windowStart = now - Self.signInWindowMilliseconds
        let rows = try await transaction.query(
            """
            INSERT INTO sign_in_attempts (key, window_start, attempts) VALUES (?, ?, 1)
            ON CONFLICT (key) DO UPDATE SET
                attempts = CASE WHEN sign_in_attempts.window_start < ? THEN 1 ELSE sign_in_attempts.attempts + 1 END,
                window_start = CASE WHEN sign_in_attempts.window_start < ? THEN ? ELSE sign_in_attempts.window_start END
            RETURNING attempts
            """,
            [.text(key), .integer(now), .integer(windowStart), .integer(windowStart), .integer(now)])
        try await transaction.execute("DELETE FROM sign_in_attempts WHERE window_start < ?", [.integer(windowStart)])
        return rows.first?["attempts"].int64 ?? 1
    }

    /// The user a console cookie's secret belongs to, while the sign-in lasts and the account is enabled.
    public func webSessionUser(secret: String) async throws -> User? {
        guard secret.hasPrefix("aws_"), secret.count == 68 else { return nil }
        return try await database.transaction { transaction in
            try await transaction.query(
                """
                SELECT u.id, u.name, u.role, u.created_at, u.disabled_at FROM web_sessions w JOIN users u ON u.id = w.user_id
                WHERE w.secret_sha256 = ? AND w.expires_at > ? AND u.disabled_at IS NULL
                """, [.text(Self.digest(secret)), .integer(Clock.nowMilliseconds())]).first.map(User.init(row:))
        }
    }

    /// Ends a console sign-in.
    public func signOut(secret: String) async throws {
        try await database.transaction { transaction in
            try await transaction.execute("DELETE FROM web_sessions WHERE secret_sha256 = ?", [.text(Self.digest(secret))])
        }
    }

    // MARK: - The first admin

    /// What a server start found about the first admin.
    public enum SetupLink: Sendable, Equatable {
        /// There is an admin: nothing to set up.
        case notNeeded
        /// A new one-time link's secret, to print.
        case created(secret: String)
        /// A link made earlier (by this server's first start, or another server started with it) is
        /// still unused; only its hash is kept, so it cannot be shown again.
        case pending
    }

    /// A one-time link for choosing the first admin's password, made when nobody could sign in as an
    /// admin and no unused link exists (or, with `replacing`, in place of the unused one). Servers
    /// started together make one between them: the check and the insert hold ``SerialLock/firstAdmin``.
    public func setupLink(replacing: Bool = false, actor: String) async throws -> SetupLink {
        try await database.transaction { transaction in
            try await transaction.serialise(on: .firstAdmin)
            guard try await transaction.query("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL").isEmpty
            else { return .notNeeded }
            let now = Clock.nowMilliseconds()
            let unused = try await transaction.query("SELECT secret_sha256 FROM setup_links WHERE used_at IS NULL AND expires_at > ?",
                                                     [.integer(now)])
            if !unused.isEmpty && !replacing { return .pending }
            try await transaction.execute("DELETE FROM setup_links WHERE used_at IS NULL")
            let secret = Identifier.randomHex(words: 3)
            try await transaction.execute(
                "INSERT INTO setup_links (secret_sha256, created_at, expires_at, used_at) VALUES (?, ?, ?, NULL)",
                [.text(Self.digest(secret)), .integer(now), .integer(now + Self.setupLinkMilliseconds)])
            try await self.audit(transaction, actor: actor, action: "setup.link", subject: "setup")
            return .created(secret: secret)
        }
    }

    /// Whether a setup link's secret can still be used.
    public func setupLinkIsUsable(secret: String) async throws -> Bool {
        guard secret.count == 48, secret.allSatisfy(\.isHexDigit) else { return false }
        return try await database.transaction { transaction in
            !(try await transaction.query("SELECT secret_sha256 FROM setup_links WHERE secret_sha256 = ? AND used_at IS NULL AND expires_at > ?",
                                          [.text(Self.digest(secret)), .integer(Clock.nowMilliseconds())]).isEmpty)
        }
    }

    /// Uses a setup link up: creates the first admin and signs them in. Nil when the link is unknown,
    /// used or expired, or an admin exists already. Concurrent uses of one link make one admin.
    public func completeSetup(secret: String, name: String, password: String) async throws -> (User, session: String)? {
        try Self.checkUserName(name)
        try PasswordHash.check(password)
        guard try await setupLinkIsUsable(secret: secret) else { return nil }
        let hash = try await PasswordHash.make(password)
        let session = "aws_" + Identifier.randomHex(words: 4)
        return try await database.transaction { transaction in
            try await transaction.serialise(on: .firstAdmin)
            let now = Clock.nowMilliseconds()
            // One statement claims the link: of concurrent uses, one finds it unused.
            guard !(try await transaction.query(
                "UPDATE setup_links SET used_at = ? WHERE secret_sha256 = ? AND used_at IS NULL AND expires_at > ? RETURNING secret_sha256",
                [.integer(now), .text(Self.digest(secret)), .integer(now)]).isEmpty),
                  try await transaction.query("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL").isEmpty
            else { return nil }
            let user = try await self.insertUser(transaction, name: name, role: .admin, hash: hash, actor: "setup-link")
            try await transaction.execute(
                "INSERT INTO web_sessions (secret_sha256, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(Self.digest(session)), .text(user.id), .integer(now), .integer(now + Self.webSessionMilliseconds)])
            return (user, session)
        }
    }
}
