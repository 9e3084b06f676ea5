import Foundation

/// Where the data lives, as given with `--db`: `sqlite:PATH` or a `postgres://` URL.
public enum DatabaseLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// The embedded default: one SQLite file in the data directory.
    public static let defaultLocation = DatabaseLocation.sqlite(path: "affect-data/affect.sqlite")

    public init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreError.invalidLocation(text) }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            throw StoreError.invalidLocation(text)
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path)"
        case .postgres(let url):
            // Never print a password.
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://…"
        }
    }

    /// Opens the database, creating the SQLite file's directory (readable by its owner only) if needed.
    public func open() async throws -> any SQLDatabase {
        switch self {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o700])
                } catch {
                    throw StoreError.backend("\(directory): cannot create the data directory")
                }
            }
            return try SQLiteDatabase(path: path)
        case .postgres(let url):
            return try await PostgresDatabase(url: url)
        }
    }
}
