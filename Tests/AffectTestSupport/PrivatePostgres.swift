import Foundation

/// A PostgreSQL of a test's own, which the test may stop and start (stopping the suite's shared one
/// would fail other tests), from `scripts/postgres`.
public struct PrivatePostgres: Sendable {
    public let url: String
    let directory: String

    /// - Parameter tcp: listen on a free port of 127.0.0.1 as well, and give a TCP URL (as servers on
    ///   other machines would reach it); otherwise on a Unix socket only.
    public init(tcp: Bool = false) throws {
        let lines = try Self.script(["start"] + (tcp ? ["--tcp"] : [])).split(separator: "\n").map(String.init)
        url = lines.first ?? ""
        directory = tcp ? (lines.dropFirst().first ?? "")
            : URLComponents(string: url)?.queryItems?.first { $0.name == "host" }?.value ?? ""
    }

    /// `pause` stops the server (its connections are closed), `resume` starts it again on the same data, `stop` removes it.
    public func run(_ verb: String) throws { _ = try Self.script([verb, directory]) }

    /// Runs `scripts/postgres` with its output in a file, not a pipe: the server it starts inherits
    /// the descriptors, and a pipe would then never reach its end while the server runs.
    static func script(_ arguments: [String]) throws -> String {
        let output = try TestEnvironment.temporaryDirectory().appendingPathComponent("out")
        defer { try? FileManager.default.removeItem(at: output.deletingLastPathComponent()) }
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = TestEnvironment.packageRoot.appendingPathComponent("scripts/postgres")
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ScriptFailure(status: process.terminationStatus) }
        return String(decoding: try Data(contentsOf: output), as: UTF8.self)
    }

    struct ScriptFailure: Error {
        var status: Int32
    }
}
