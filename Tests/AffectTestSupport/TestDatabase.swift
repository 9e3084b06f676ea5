import AffectStore
import Foundation

/// A real, empty database for one test, on either backend: a new SQLite file, or a new PostgreSQL
/// database created on the throwaway server `scripts/test` starts. Each test gets its own, so suites
/// that use it can run in parallel; `drop()` removes it.
public struct TestDatabase: Sendable, CustomStringConvertible {
    public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
        case sqlite, postgres
        public var description: String { rawValue }

        /// SQLite always; PostgreSQL when `scripts/test` started one (loudly skipped otherwise, see ``TestEnvironment``).
        public static var available: [Backend] {
            TestEnvironment.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
        }
    }

    public let backend: Backend
    /// What `--db` takes: `sqlite:PATH` or a `postgres://` URL.
    public let location: DatabaseLocation
    /// A folder for this test's other files (a server's data directory, say); removed by `drop()`.
    public let directory: URL
    /// The PostgreSQL database's name (nil on SQLite).
    public let postgresName: String?

    public var description: String { backend.rawValue }

    /// Creates the database (empty: the store migrates it when opened).
    public static func make(_ backend: Backend) throws -> TestDatabase {
        let directory = try TestEnvironment.temporaryDirectory()
        switch backend {
        case .sqlite:
            return TestDatabase(backend: backend, location: .sqlite(path: directory.appendingPathComponent("affect.sqlite").path),
                                directory: directory, postgresName: nil)
        case .postgres:
            guard let base = TestEnvironment.postgresURL, var components = URLComponents(string: base) else {
                throw TestDatabaseError.noPostgres
            }
            let name = "affect_t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try psql(base, "CREATE DATABASE \(name)")
            components.path = "/" + name
            guard let url = components.string else { throw TestDatabaseError.noPostgres }
            return TestDatabase(backend: backend, location: .postgres(url: url), directory: directory, postgresName: name)
        }
    }

    /// Opens (and migrates) a store on the database.
    public func open() async throws -> PrivacyStore {
        try await PrivacyStore.open(location)
    }

    /// Removes the database and the folder; call after closing every store on it.
    public func drop() {
        if let postgresName, let base = TestEnvironment.postgresURL {
            try? Self.psql(base, "DROP DATABASE IF EXISTS \(postgresName) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    enum TestDatabaseError: Error {
        case noPostgres
        case psql(String)
    }

    /// Runs one statement outside a transaction (CREATE and DROP DATABASE cannot run inside one).
    public static func psql(_ url: String, _ statement: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", statement]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestDatabaseError.psql(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }
}
