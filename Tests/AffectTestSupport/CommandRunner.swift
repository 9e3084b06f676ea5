import Foundation

/// Runs the built `affect` binary as a user would, capturing its output.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
}

public enum CommandRunner {
    /// The `affect` binary built beside the test bundle.
    public static let affectPath: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("affect").path
    }()

    /// Runs `affect` with `arguments`; `environment` entries are added to the current environment.
    public static func affect(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try run(affectPath, arguments, environment: environment)
    }

    /// Runs a shell pipeline; `$AFFECT` in it names the binary.
    public static func shell(_ script: String) throws -> CommandResult {
        try run("/bin/sh", ["-c", script], environment: ["AFFECT": affectPath])
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = TestEnvironment.packageRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        group.enter()
        DispatchQueue.global().async {
            errorData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                             stderr: String(decoding: errorData, as: UTF8.self))
    }
}
