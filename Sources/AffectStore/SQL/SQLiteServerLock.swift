import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one server an embedded SQLite database takes. SQLite lets one process write at a time, and
/// live state (running captures, the dashboard's feed, withdrawals reaching a capture) is shared
/// between servers only through PostgreSQL, so a second `affect serve` on the same file is refused
/// rather than left to run beside the first with neither seeing the other's sessions. Commands
/// (`affect study`, `affect subject delete`) still open the file beside a server.
///
/// An exclusive `flock` on a file beside the database, held for the process's life: the kernel
/// releases it when the process ends, however it ends, so a crash leaves nothing to clean up.
public final class SQLiteServerLock: Sendable {
    /// Another server holds the database.
    public struct Held: Error, CustomStringConvertible {
        public var databasePath: String
        public var description: String {
            "another affect serve is already running on \(databasePath); an SQLite database takes one server (for several, use PostgreSQL: --db postgres://...)"
        }
    }

    private let descriptor: Int32

    /// Takes the lock, or throws ``Held`` at once when another process has it.
    public init(databasePath: String) throws {
        let path = databasePath + ".server-lock"
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.backend("\(path): cannot create the server lock file") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw Held(databasePath: databasePath)
        }
        self.descriptor = descriptor
    }

    deinit {
        // Closing the descriptor releases the lock.
        close(descriptor)
    }
}
