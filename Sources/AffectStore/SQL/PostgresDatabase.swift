import Foundation
import Logging
import PostgresNIO

/// The server backend: PostgreSQL through postgres-nio.
///
/// Accepts `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` and, for a local socket,
/// `postgres://USER@/DATABASE?host=/var/run/postgresql` (libpq's convention).
public final class PostgresDatabase: SQLDatabase, SQLNotificationSource {
    public let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger = Logger(label: "affect.postgres")
    private let label: String
    /// For connections of our own outside the pool: the one that listens for notifications.
    private let directConfiguration: PostgresConnection.Configuration
    /// How long one connection attempt (socket, startup and authentication) may take unless the URL
    /// says otherwise with libpq's `connect_timeout` (seconds).
    static let defaultConnectTimeoutSeconds = 30

    public init(url: String) async throws {
        guard let components = URLComponents(string: url), let user = components.user, !user.isEmpty else {
            throw StoreError.invalidLocation(url)
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else { throw StoreError.invalidLocation(url) }
        let query = components.queryItems ?? []
        let socketDirectory = query.first { $0.name == "host" }?.value
        var connectTimeoutSeconds = PostgresDatabase.defaultConnectTimeoutSeconds
        if let value = query.first(where: { $0.name == "connect_timeout" })?.value {
            guard let seconds = Int(value), seconds > 0 else { throw StoreError.invalidLocation(url) }
            connectTimeoutSeconds = seconds
        }
        var configuration: PostgresClient.Configuration
        var probeConfiguration: PostgresConnection.Configuration
        if let socketDirectory {
            let port = components.port ?? 5432
            let path = "\(socketDirectory)/.s.PGSQL.\(port)"
            configuration = .init(unixSocketPath: path, username: user, password: components.password, database: database)
            probeConfiguration = .init(unixSocketPath: path, username: user, password: components.password,
                                       database: database)
            label = "postgres://\(user)@\(socketDirectory)/\(database)"
        } else {
            guard let host = components.host, !host.isEmpty else { throw StoreError.invalidLocation(url) }
            let port = components.port ?? 5432
            configuration = .init(host: host, port: port, username: user, password: components.password,
                                  database: database, tls: .disable)
            probeConfiguration = .init(host: host, port: port, username: user, password: components.password,
                                       database: database, tls: .disable)
            label = "postgres://\(user)@\(host):\(port)/\(database)"
        }
        configuration.options.connectTimeout = .seconds(connectTimeoutSeconds)
        probeConfiguration.options.connectTimeout = .seconds(Int64(connectTimeoutSeconds))
        // One direct connection first, so a wrong address, a stopped server or a refused login fails now
        // with a clear message: the pool would retry in the background and leave the first statement
        // waiting indefinitely. The probe has no wall-clock race of its own, so a slow but working
        // server on a busy machine is not mistaken for a missing one.
        do {
            let probe = try await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: logger)
            try await probe.close()
        } catch {
            throw StoreError.backend("\(label): \(PostgresDatabase.describe(error))")
        }
        // The pool retries failed connections in the background; its log lines would interleave
        // with the CLI's one-line errors, which already say what went wrong.
        let client = PostgresClient(configuration: configuration,
                                    backgroundLogger: Logger(label: "affect.postgres.pool") { _ in SwiftLogNoOpLogHandler() })
        self.client = client
        directConfiguration = probeConfiguration
        runner = Task { await client.run() }
    }

    /// How many times a transaction is tried when PostgreSQL aborts it for a deadlock or a
    /// serialization failure (two transactions locking the same rows in opposite orders): the loser
    /// of such a race is rolled back whole and may simply run again.
    static let conflictAttempts = 4

    /// The longest a transaction may take, waiting for a connection included: a database that stops
    /// answering (stopped, unreachable) turns into an error the caller can act on, never an endless wait.
    static let transactionDeadline = Duration.seconds(20)

    public func transaction<T: Sendable>(deadline: Duration?,
                                         _ body: @escaping @Sendable (any SQLTransaction) async throws -> T) async throws -> T {
        let deadline = deadline ?? Self.transactionDeadline
        var attempt = 1
        while true {
            do {
                let (label, logger) = (self.label, self.logger)
                let started = ContinuousClock.now
                return try await withDeadline(deadline, late: {
                    logger.warning("a transaction was cancelled: the database did not answer within \(deadline)")
                    return StoreError.backend("\(label): the database did not answer within \(deadline)")
                }, leftBehind: {
                    logger.warning("a cancelled transaction ended \(started.duration(to: .now)) after it began")
                }) { try await self.attemptTransaction(body) }
            } catch {
                if attempt < Self.conflictAttempts, Self.isConflict(error) {
                    attempt += 1
                    // A short random pause so the two losers of one race do not meet again.
                    try await Task.sleep(for: .milliseconds(Int.random(in: 5...(20 * attempt))))
                    continue
                }
                if let transactionError = error as? PostgresTransactionError {
                    // Unwrap our own errors from the transaction wrapper.
                    if let closureError = transactionError.closureError as? StoreError { throw closureError }
                    if let closureError = transactionError.closureError { throw mapError(closureError) }
                    throw StoreError.backend("\(label): \(PostgresDatabase.describe(transactionError))")
                }
                throw mapError(error)
            }
        }
    }

    private func attemptTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) async throws -> T) async throws -> T {
        try await client.withTransaction(logger: logger) { connection in
            try await body(Connection(connection: connection, logger: logger))
        }
    }

    /// Whether PostgreSQL rolled the transaction back for a deadlock (40P01) or a serialization
    /// failure (40001), the aborts that running the transaction again resolves.
    static func isConflict(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError {
            return [transaction.closureError, transaction.commitError].contains { $0.map(isConflict) ?? false }
        }
        guard let psql = error as? PSQLError, let code = psql.serverInfo?[.sqlState] else { return false }
        return code == "40P01" || code == "40001"
    }

    public var notificationSource: (any SQLNotificationSource)? { self }

    public func notifications(on channel: String) -> AsyncStream<SQLNotification> {
        let (stream, continuation) = AsyncStream.makeStream(of: SQLNotification.self, bufferingPolicy: .bufferingNewest(4096))
        let (configuration, logger, label) = (directConfiguration, self.logger, self.label)
        // A connection of its own, outside the pool: a listening connection is held for the process's
        // life, and the pool's connections are for transactions.
        let listener = Task {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                    failures = 0
                    do {
                        try await connection.listen(on: channel) { notifications in
                            for try await notification in notifications {
                                continuation.yield(SQLNotification(channel: channel, payload: notification.payload))
                            }
                        }
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                    try? await connection.close()
                } catch {
                    if Task.isCancelled { break }
                    failures += 1
                    if failures == 1 { logger.warning("\(label): listening for notifications failed; reconnecting: \(PostgresDatabase.describe(error))") }
                }
                // Growing pauses while the database is away, at most 5 s.
                try? await Task.sleep(for: .milliseconds(min(5000, 250 * (1 << min(failures, 5)))))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in listener.cancel() }
        return stream
    }

    public func compact() async throws {
        do {
            // VACUUM cannot run inside a transaction; it rewrites pages so deleted rows leave the heap.
            try await client.query("VACUUM", logger: logger)
        } catch {
            throw mapError(error)
        }
    }

    public func close() async throws {
        runner.cancel()
    }

    private func mapError(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        if let psql = error as? PSQLError, let code = psql.serverInfo?[.sqlState], code.hasPrefix("23") {
            return StoreError.constraint(psql.serverInfo?[.message] ?? "constraint failed")
        }
        return StoreError.backend("\(label): \(PostgresDatabase.describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            switch psql.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection:
                return "cannot reach the database server (is it running?)"
            default: return "\(psql.code)"
            }
        }
        if let transaction = error as? PostgresTransactionError {
            return describe(transaction.beginError ?? transaction.closureError ?? transaction.commitError
                ?? transaction.rollbackError ?? error)
        }
        return "\(error)"
    }

    /// Statements on one leased connection inside its transaction.
    private struct Connection: SQLTransaction, @unchecked Sendable {
        // Used only inside the transaction closure that lent it, one statement at a time.
        let connection: PostgresConnection
        let logger: Logger
        var dialect: SQLDialect { .postgres }

        func execute(_ sql: String, _ bindings: [SQLValue]) async throws {
            _ = try await query(sql, bindings)
        }

        func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
            try bindings.checkStorable()
            var binds = PostgresBindings(capacity: bindings.count)
            for value in bindings {
                switch value {
                case .null: binds.appendNull()
                case .integer(let integer): binds.append(integer)
                case .real(let real): binds.append(real)
                case .text(let text): binds.append(text)
                }
            }
            let rows = try await connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger)
            var result: [SQLRow] = []
            for try await row in rows {
                var values: [String: SQLValue] = [:]
                for cell in row {
                    values[cell.columnName.lowercased()] = try Self.value(of: cell)
                }
                result.append(SQLRow(values: values))
            }
            return result
        }

        /// `?` placeholders as `$1, $2, ...` (our statements have no `?` inside literals).
        static func numbered(_ sql: String) -> String {
            var output = ""
            var index = 0
            for character in sql {
                if character == "?" {
                    index += 1
                    output += "$\(index)"
                } else {
                    output.append(character)
                }
            }
            return output
        }

        static func value(of cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .numeric: return .real(Double(try cell.decode(String.self)) ?? .nan)
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}
