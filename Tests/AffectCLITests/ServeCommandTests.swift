import AffectTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `affect serve` as `make serve` runs it: first start prints the URL and a one-time admin token.
@Suite struct ServeCommandTests {
    /// Starts `affect serve --port 0`, waits for its ready line, and returns the process and that line.
    func start(data: URL) throws -> (Process, [String: Any], Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.affectPath)
        process.arguments = ["serve", "--port", "0", "--data", data.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var buffer = Data()
        let deadline = Date().addingTimeInterval(20)
        while !buffer.contains(UInt8(ascii: "\n")), Date() < deadline, process.isRunning {
            buffer += out.fileHandleForReading.availableData
        }
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        let ready = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
        return (process, ready, err)
    }

    func get(_ url: String, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func firstStartPrintsTheURLAndAnAdminTokenOnce() async throws {
        let data = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (first, ready, _) = try start(data: data)
        let url = try #require(ready["url"] as? String, "ready line: \(ready)")
        #expect(url.hasPrefix("http://127.0.0.1:"))
        let token = try #require(ready["admin_token"] as? String)
        #expect(try await get(url + "/healthz").0 == 200)
        #expect(try await get(url + "/api/v1/studies").0 == 401)
        let (status, body) = try await get(url + "/api/v1/studies", token: token)
        #expect(status == 200 && body == "[]")
        first.terminate()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0, "SIGTERM shuts down gracefully")

        let (second, again, _) = try start(data: data)
        #expect(again["url"] != nil && again["admin_token"] == nil, "the token is shown once only")
        #expect(try await get((again["url"] as? String ?? "") + "/api/v1/studies", token: token).0 == 200, "and still valid")
        second.terminate()
        second.waitUntilExit()
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path)
        #expect(files == ["affect.sqlite"])
    }
}
