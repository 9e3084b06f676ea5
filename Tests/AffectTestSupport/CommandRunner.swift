import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    public static func affect(_ arguments: [String], environment: [String: String] = [:],
                              directory: URL? = nil) throws -> CommandResult {
        try start(affectPath, arguments, environment: environment, directory: directory).finish()
    }

    /// Starts `affect` without waiting for it; call ``RunningCommand/finish()`` to collect it.
    public static func startAffect(_ arguments: [String], environment: [String: String] = [:],
                                   directory: URL? = nil) throws -> RunningCommand {
        try start(affectPath, arguments, environment: environment, directory: directory)
    }

    /// Starts a shell command without waiting for it.
    public static func startShell(_ script: String) throws -> RunningCommand {
        try start("/bin/sh", ["-c", script], environment: ["AFFECT": affectPath], directory: nil)
    }

    /// Runs a shell pipeline; `$AFFECT` in it names the binary.
    public static func shell(_ script: String) throws -> CommandResult {
        try run("/bin/sh", ["-c", script], environment: ["AFFECT": affectPath])
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> CommandResult {
        try start(executable, arguments, environment: environment, directory: nil).finish()
    }

    static func start(_ executable: String, _ arguments: [String], environment: [String: String],
                      directory: URL?) throws -> RunningCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = directory ?? TestEnvironment.packageRoot
        return try RunningCommand(process: process)
    }
}

/// A child process whose output is being collected.
public final class RunningCommand: @unchecked Sendable {
    private let process: Process
    private let group = DispatchGroup()
    private var outputData = Data(), errorData = Data()

    init(process: Process) throws {
        self.process = process
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        group.enter()
        DispatchQueue.global().async { [self] in
            errorData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async { [self] in
            outputData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
    }

    public var isRunning: Bool { process.isRunning }

    /// Kills the process at once (SIGKILL), as a crash would end it.
    public func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to end and returns what it printed.
    public func finish() -> CommandResult {
        group.wait()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                             stderr: String(decoding: errorData, as: UTF8.self))
    }
}
