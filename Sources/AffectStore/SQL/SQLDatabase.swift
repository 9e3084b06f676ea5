/// The little a privacy store needs from a SQL database: transactions of parameterised statements.
///
/// Statements use `?` placeholders and the SQL that SQLite and PostgreSQL share; the
/// PostgreSQL driver numbers the placeholders. Keeping the policy code above this seam
/// means consent, modes, retention and the audit chain are implemented once and the same
/// test suite runs against both backends.
public protocol SQLDatabase: Sendable {
    /// Which backend this is, for messages and for the rare statement that differs.
    var dialect: SQLDialect { get }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// With a `deadline`, a database that has not finished the transaction by then (a server
    /// restarting, a connection that never comes) gives ``StoreError/backend(_:)`` instead of a longer
    /// wait; nil is the backend's own limit. A local file has none.
    func transaction<T: Sendable>(deadline: Duration?,
                                  _ body: @escaping @Sendable (any SQLTransaction) async throws -> T) async throws -> T

    /// Returns freed pages to the file system and drops deleted data from journals, so that
    /// deleted rows do not survive in unused pages (SQLite `VACUUM`, PostgreSQL `VACUUM`).
    func compact() async throws

    /// Closes connections.
    func close() async throws

    /// How this database's processes notify each other; nil when it has no such channel (SQLite).
    var notificationSource: (any SQLNotificationSource)? { get }
}

extension SQLDatabase {
    public var notificationSource: (any SQLNotificationSource)? { nil }
}

/// Statements inside one transaction.
public protocol SQLTransaction: Sendable {
    /// The backend the statements run on.
    var dialect: SQLDialect { get }
    func execute(_ sql: String, _ bindings: [SQLValue]) async throws
    func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow]
}

extension SQLTransaction {
    public func execute(_ sql: String) async throws { try await execute(sql, []) }
    public func query(_ sql: String) async throws -> [SQLRow] { try await query(sql, []) }
}

/// Locks for work that must run one at a time across every process on a database, named so that
/// two places cannot pick the same key by accident.
public enum SerialLock: Int64, Sendable {
    /// Bringing the schema up to date: three servers started at once must not each run a migration.
    case schema = 7_146_001
    /// Making the first admin (its setup link) and keeping one: one, however many servers start at once.
    case firstAdmin = 7_146_002
}

extension SQLTransaction {
    /// Waits until no other transaction on the database holds `lock`, then holds it until this one
    /// ends. PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, since every
    /// transaction begins `IMMEDIATE` and so already holds the database's one write lock.
    public func serialise(on lock: SerialLock) async throws {
        if dialect == .postgres { try await execute("SELECT pg_advisory_xact_lock(?)", [.integer(lock.rawValue)]) }
    }

    /// Appended to a `SELECT` that reads a row the transaction is about to change on the strength of
    /// what it read (a link's use, a study's budget): on PostgreSQL the row stays locked until the
    /// transaction ends, so a concurrent one waits and then reads the changed row instead of the same
    /// stale one. SQLite needs nothing (one writer at a time) and has no such clause.
    public var forUpdate: String { dialect == .postgres ? " FOR UPDATE" : "" }

    /// The database server's clock in integer milliseconds since 1970, as an SQL expression. Leases
    /// are judged by it, so nodes whose clocks disagree still agree on whether a lease has expired.
    public var nowMilliseconds: String {
        switch dialect {
        case .postgres: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        case .sqlite: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
        }
    }
}

extension SQLDatabase {
    /// Runs `body` in one transaction, within the backend's own time limit.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) async throws -> T) async throws -> T {
        try await transaction(deadline: nil, body)
    }
}

public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}
