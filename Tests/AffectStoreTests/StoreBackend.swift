import Testing
import AffectStore
import AffectTestSupport
import Foundation

/// The backends the one store suite runs against: SQLite always, PostgreSQL when configured.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    static var available: [StoreBackend] {
        TestEnvironment.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    var testDescription: String { rawValue }

    /// A store on an empty database. SQLite gets a new file; PostgreSQL an emptied schema (the suite is serialised).
    func makeStore(sessionLeaseMilliseconds: Int64 = PrivacyStore.defaultSessionLeaseMilliseconds) async throws
        -> (PrivacyStore, cleanup: () -> Void) {
        switch self {
        case .sqlite:
            let directory = try TestEnvironment.temporaryDirectory()
            let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path),
                                                    sessionLeaseMilliseconds: sessionLeaseMilliseconds)
            return (store, { try? FileManager.default.removeItem(at: directory) })
        case .postgres:
            let database = try await PostgresDatabase(url: TestEnvironment.postgresURL ?? "")
            try await database.transaction { transaction in
                try await transaction.execute("DROP SCHEMA public CASCADE")
                try await transaction.execute("CREATE SCHEMA public")
            }
            let store = try await PrivacyStore(database: database, sessionLeaseMilliseconds: sessionLeaseMilliseconds)
            return (store, { Task { try? await database.close() } })
        }
    }
}

