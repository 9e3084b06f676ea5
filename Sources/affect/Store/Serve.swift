import AffectServer
import AffectStore
import ArgumentParser
import Foundation
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the study server: API, health and metrics.",
        discussion: """
        The first start on a database creates an admin API token and prints it once (only its
        SHA-256 is stored). When the server listens, one JSON line goes to stdout:
          {"url": "http://127.0.0.1:8080", "admin_token": "afk_..."}
        (admin_token only on the first start). Routes: /healthz, /readyz, /metrics (Prometheus),
        /api/v1/studies (Authorization: Bearer TOKEN).

        Binds 127.0.0.1 unless --host says otherwise. Stop with Ctrl-C (SIGINT) or SIGTERM.
        """
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(help: "Data directory for the embedded SQLite database (default affect-data); ignored with --db.")
    var data: String?
    @OptionGroup var database: DatabaseOptions

    struct Ready: Encodable {
        var url: String
        var adminToken: String?
    }

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() async throws {
        try await CommandFailure.reportingAsync {
            var options = database
            if options.location == nil, let data {
                options.location = "sqlite:" + (data as NSString).appendingPathComponent("affect.sqlite")
            }
            let store = try await options.open()
            var adminToken: String?
            if try await !store.hasAdminToken() {
                adminToken = try await store.createToken(name: "admin", role: .admin, actor: DatabaseOptions.actor).secret
                Console.info("affect: created the admin API token; it is shown once, below, and stored only as a hash")
            }
            let host = self.host
            let token = adminToken
            // Hummingbird's own info lines would repeat ours; warnings and errors still show.
            var logger = Logger(label: "affect.server")
            logger.logLevel = .warning
            let app = buildApplication(configuration: .init(host: host, port: port), store: store, logger: logger) { boundPort in
                let url = "http://\(host):\(boundPort)"
                Console.info("affect: serving on \(url)")
                if let line = try? JSONOutput.text(Ready(url: url, adminToken: token), pretty: false) {
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            }
            do {
                try await app.runService()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw UsageError(message: "\(host):\(port) is already in use (choose another --port)")
            }
        }
    }
}
