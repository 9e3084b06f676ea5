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
    /// Transactions on one database run one at a time.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLTransaction) async throws -> T) async throws -> T

    /// Returns freed pages to the file system and drops deleted data from journals, so that
    /// deleted rows do not survive in unused pages (SQLite `VACUUM`, PostgreSQL `VACUUM`).
    func compact() async throws

    /// Closes connections.
    func close() async throws
}

/// Statements inside one transaction.
public protocol SQLTransaction: Sendable {
    func execute(_ sql: String, _ bindings: [SQLValue]) async throws
    func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow]
}

extension SQLTransaction {
    public func execute(_ sql: String) async throws { try await execute(sql, []) }
    public func query(_ sql: String) async throws -> [SQLRow] { try await query(sql, []) }
}

public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}
