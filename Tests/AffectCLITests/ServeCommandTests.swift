import AffectStore
import AffectTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `affect serve` as `make serve` runs it: first start prints the URL and a one-time setup link.
@Suite struct ServeCommandTests {
    /// Starts `affect serve --port 0`, waits for its ready line, and returns the process and that line.
    func start(data: URL, database: String? = nil, arguments: [String] = []) throws -> (Process, [String: Any], Pipe) {
        let (process, out, err) = try launch(data: data, database: database, arguments: arguments)
        return (process, readyLine(process, out), err)
    }

    /// Starts `affect serve --port 0` without waiting for it.
    func launch(data: URL, database: String? = nil, arguments: [String] = []) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.affectPath)
        process.arguments = ["serve", "--port", "0", "--data", data.path] + (database.map { ["--db", $0] } ?? []) + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    /// The server's first stdout line (its ready line) as JSON, waiting up to 20 s.
    func readyLine(_ process: Process, _ out: Pipe) -> [String: Any] {
        var buffer = Data()
        let deadline = Date().addingTimeInterval(20)
        while !buffer.contains(UInt8(ascii: "\n")), Date() < deadline, process.isRunning {
            buffer += out.fileHandleForReading.availableData
        }
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
    }

    func get(_ url: String, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Sends a console form without following the redirect it answers with; returns the status and
    /// the `Location` and `Set-Cookie` headers.
    func post(_ url: String, form: String, cookie: String? = nil) async throws -> (Int, location: String?, cookie: String?) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        request.httpBody = Data(form.utf8)
        request.httpShouldHandleCookies = false
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let (_, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        let cookie = (http?.value(forHTTPHeaderField: "Set-Cookie")).flatMap { $0.split(separator: ";").first.map(String.init) }
        return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Location"), cookie)
    }

    final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    func get(_ url: String, cookie: String) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpShouldHandleCookies = false
        request.setValue(cookie, forHTTPHeaderField: "Cookie")
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return ((try await session.data(for: request)).1 as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test func firstStartPrintsASetupLinkThatMakesTheFirstAdminOnce() async throws {
        let data = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (lost, printed, _) = try start(data: data)
        let lostLink = try #require(printed["setup_url"] as? String, "ready line: \(printed)")
        lost.terminate()
        lost.waitUntilExit()
        // Restarted before anyone used it: no new link (only its hash is kept), and it says what to do.
        let (quiet, unprinted, quietErrors) = try start(data: data)
        #expect(unprinted["url"] != nil && unprinted["setup_url"] == nil)
        quiet.terminate()
        quiet.waitUntilExit()
        let said = String(decoding: quietErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(said.contains("--new-setup-link"), "\(said)")

        let (first, ready, _) = try start(data: data, arguments: ["--new-setup-link"])
        let url = try #require(ready["url"] as? String, "ready line: \(ready)")
        #expect(url.hasPrefix("http://127.0.0.1:"))
        let setup = try #require(ready["setup_url"] as? String)
        #expect(setup != lostLink)
        let replaced = lostLink.replacingOccurrences(of: lostLink.components(separatedBy: "/setup/")[0], with: url)
        #expect(try await get(replaced).0 == 410, "the replaced link stops working")
        #expect(setup.hasPrefix(url + "/setup/"))
        #expect(try await get(url + "/healthz").0 == 200)
        #expect(try await get(url + "/api/v1/studies").0 == 401)
        #expect(try await get(setup).0 == 200, "the setup page")
        // Mismatched passwords are refused in words and use nothing up.
        #expect(try await post(setup, form: "name=ada&password=correct-horse&confirm=other-horse").0 == 422)
        let (status, location, cookie) = try await post(setup, form: "name=ada&password=correct-horse&confirm=correct-horse")
        #expect(status == 303 && location == "/studies")
        let session = try #require(cookie, "the first admin is signed in")
        #expect(try await get(url + "/studies", cookie: session) == 200)
        #expect(try await get(url + "/api/v1/studies", cookie: session) == 200, "the API answers the console's sign-in too")
        #expect(try await post(setup, form: "name=eve&password=correct-horse&confirm=correct-horse").0 == 410, "the link works once")
        first.terminate()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0, "SIGTERM shuts down gracefully")

        let (second, again, _) = try start(data: data)
        #expect(again["url"] != nil && again["setup_url"] == nil, "no setup link once there is an admin")
        #expect(try await get((again["url"] as? String ?? "") + "/studies", cookie: session) == 200, "still signed in")
        second.terminate()
        second.waitUntilExit()
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path).sorted()
        #expect(files == ["affect.sqlite", "affect.sqlite.server-lock"], "the database and the lock that keeps it to one server")
    }

    /// Finding 4 of P7: three servers started at once on an empty PostgreSQL database: one came up,
    /// two exited 65 with a duplicate key from the migrations; on a migrated one, two admin tokens.
    /// (Since P9 the first start makes a setup link, not a token: one between them.)
    @Test(arguments: TestDatabase.Backend.available)
    func serversStartedTogetherShareOneSchemaAndOneSetupLink(_ backend: TestDatabase.Backend) async throws {
        let database = try TestDatabase.make(backend)
        defer { database.drop() }
        let location: String = switch database.location {
        case .sqlite(let path): "sqlite:" + path
        case .postgres(let url): url
        }
        for round in ["empty", "migrated"] {
            // Launched together, so their migrations and first-token checks meet.
            let launched = try (0..<3).map { _ in try launch(data: database.directory, database: location) }
            var tokens: [String] = []
            var refusals: [String] = []
            for (process, out, errors) in launched {
                let ready = readyLine(process, out)
                let url = ready["url"] as? String
                if url == nil {
                    process.terminate()
                    process.waitUntilExit()
                    let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    if backend == .sqlite, process.terminationStatus == 64 {
                        refusals.append(said)
                    } else {
                        Issue.record("\(round): a server did not come up (exit \(process.terminationStatus)): \(said)")
                    }
                }
                if let url { #expect(try await get(url + "/healthz").0 == 200) }
                if let link = ready["setup_url"] as? String { tokens.append(link) }
            }
            if backend == .sqlite {
                // An SQLite file takes one server: the other two say so and exit 64.
                #expect(refusals.count == 2, "\(round): \(refusals)")
                #expect(refusals.allSatisfy { $0.contains("another affect serve is already running") }, "\(refusals)")
            }
            for (process, _, _) in launched {
                process.terminate()
                process.waitUntilExit()
            }
            #expect(tokens.count == (round == "empty" ? 1 : 0), "\(round): one setup link between them")
        }
        let store = try await database.open()
        let admins = try await store.database.transaction {
            try await $0.query("SELECT COUNT(*) AS n FROM setup_links").first?["n"].int
        }
        let migrations = try await store.database.transaction {
            try await $0.query("SELECT COUNT(*) AS n FROM schema_migrations").first?["n"].int
        }
        try await store.close()
        #expect(admins == 1)
        #expect(migrations == PrivacyStore.schemaVersion, "every migration applied once")
    }
}
