import Foundation
import GRDB

/// The embedded backend: one SQLite file, through GRDB.
///
/// `secure_delete` makes SQLite overwrite deleted content with zeros, so a deleted
/// participant's rows do not linger in free pages of the file; ``compact()`` then
/// vacuums the file. The rollback journal holds page images only while a transaction
/// runs and is removed when it commits.
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let queue: DatabaseQueue
    private let gate = AsyncGate()

    /// Opens (creating if needed) the database file at `path`; its directory must exist.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        // Another process (the CLI while the server runs) may hold the write lock briefly.
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        // A transaction spans several accesses (its body is async, to match PostgreSQL); the gate
        // below keeps every other access out until it commits or rolls back.
        configuration.allowsUnsafeTransactions = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let created = !FileManager.default.fileExists(atPath: path)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            // Scores about people: readable by the owner only (SQLite's journal files copy these permissions).
            if created { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
        } catch {
            throw StoreError.backend(SQLiteDatabase.describe(error, path: path))
        }
    }

    /// SQLite is a local file: there is no server to wait for, and `deadline` is not used.
    public func transaction<T: Sendable>(deadline: Duration?,
                                         _ body: @escaping @Sendable (any SQLTransaction) async throws -> T) async throws -> T {
        await gate.acquire()
        do {
            let connection = Connection(queue: queue, path: path)
            try await connection.execute("BEGIN IMMEDIATE")
            do {
                let value = try await body(connection)
                try await connection.execute("COMMIT")
                await gate.release()
                return value
            } catch {
                try? await connection.execute("ROLLBACK")
                throw error
            }
        } catch {
            await gate.release()
            throw error
        }
    }

    public func compact() async throws {
        await gate.acquire()
        defer { Task { await gate.release() } }
        do {
            try queue.inDatabase { db in try db.execute(sql: "VACUUM") }
        } catch {
            throw StoreError.backend(SQLiteDatabase.describe(error, path: path))
        }
    }

    public func close() async throws {
        try queue.close()
    }

    /// Statements run on the queue's one connection, inside the transaction the gate protects.
    private struct Connection: SQLTransaction {
        var dialect: SQLDialect { .sqlite }
        let queue: DatabaseQueue
        let path: String

        func execute(_ sql: String, _ bindings: [SQLValue]) async throws {
            try bindings.checkStorable()
            do {
                try queue.inDatabase { db in
                    try db.execute(sql: sql, arguments: StatementArguments(bindings.map(\.databaseValue)))
                }
            } catch {
                throw SQLiteDatabase.mapError(error, path: path)
            }
        }

        func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
            try bindings.checkStorable()
            do {
                return try queue.inDatabase { db in
                    try Row.fetchAll(db, sql: sql, arguments: StatementArguments(bindings.map(\.databaseValue))).map { row in
                        var values: [String: SQLValue] = [:]
                        for (column, value) in row { values[column.lowercased()] = SQLValue(value) }
                        return SQLRow(values: values)
                    }
                }
            } catch {
                throw SQLiteDatabase.mapError(error, path: path)
            }
        }
    }

    static func mapError(_ error: any Error, path: String) -> any Error {
        guard let database = error as? DatabaseError else { return error }
        if database.resultCode == .SQLITE_CONSTRAINT { return StoreError.constraint(database.message ?? "constraint failed") }
        return StoreError.backend(describe(error, path: path))
    }

    static func describe(_ error: any Error, path: String) -> String {
        guard let database = error as? DatabaseError else { return "\(path): \(error)" }
        switch database.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "\(path): database is locked by another process (tried for 5 s)"
        case .SQLITE_CANTOPEN: return "\(path): cannot open the database file (does its directory exist?)"
        case .SQLITE_NOTADB: return "\(path): not a SQLite database"
        case .SQLITE_CORRUPT: return "\(path): database file is corrupt"
        case .SQLITE_READONLY: return "\(path): database is read-only"
        default: return "\(path): \(database.message ?? "\(database.resultCode)")"
        }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .text(let value): value.databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let value): self = .integer(value)
        case .double(let value): self = .real(value)
        case .string(let value): self = .text(value)
        // Affect writes no blobs; one found here was put there by something else.
        case .blob(let data): self = .text("<\(data.count)-byte blob>")
        }
    }
}
