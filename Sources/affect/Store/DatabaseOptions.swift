import AffectStore
import ArgumentParser
import Foundation

/// `--db`, shared by every command that reads or writes studies.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp(
        "Database: sqlite:PATH or postgres://USER@HOST/DB.",
        discussion: "Default: $AFFECT_DB, else sqlite:affect-data/affect.sqlite (created, readable by you only).",
        valueName: "location"))
    var location: String?

    func open(sessionLeaseMilliseconds: Int64 = PrivacyStore.defaultSessionLeaseMilliseconds) async throws -> PrivacyStore {
        try await PrivacyStore.open(try resolved(), sessionLeaseMilliseconds: sessionLeaseMilliseconds)
    }

    /// The location `--db`, else `$AFFECT_DB`, else the default names.
    func resolved() throws -> DatabaseLocation {
        let configured = ProcessInfo.processInfo.environment["AFFECT_DB"].flatMap { $0.isEmpty ? nil : $0 }
        let text = location ?? configured
        return try text.map(DatabaseLocation.init(parsing:)) ?? .defaultLocation
    }

    /// Who is acting, for the audit log.
    static var actor: String {
        "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown")
    }
}
