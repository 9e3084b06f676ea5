import AffectTestSupport
import Foundation
import Testing

/// Every input a user can get wrong gives one clear line on stderr and a meaningful exit code.
@Suite(.enabled(if: TestEnvironment.hasModels, "needs models from scripts/bootstrap"))
struct ErrorHandlingTests {
    func expectOneLineError(_ result: CommandResult, status: Int32, mentioning text: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "exit \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("affect: "), sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func missingFile() throws {
        expectOneLineError(try CommandRunner.affect(["analyze", "/nonexistent/clip.mp4"]), status: 66,
                           mentioning: "/nonexistent/clip.mp4: no such file")
    }

    /// No camera exists on CI machines, so V4L2 capture itself is untested here; a missing one must fail clearly.
    @Test func missingCamera() throws {
        expectOneLineError(try CommandRunner.affect(["analyze", "/dev/video63"]), status: 66,
                           mentioning: "/dev/video63: no such camera")
    }

    @Test func emptyCorruptAndTruncatedFiles() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.mp4").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        expectOneLineError(try CommandRunner.affect(["analyze", empty]), status: 65, mentioning: "empty")

        var generator = SystemRandomNumberGenerator()
        let garbage = directory.appendingPathComponent("garbage.mp4").path
        #expect(FileManager.default.createFile(atPath: garbage, contents: Data((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) })))
        expectOneLineError(try CommandRunner.affect(["analyze", garbage]), status: 65, mentioning: "garbage.mp4")

        let image = directory.appendingPathComponent("broken.jpg").path
        #expect(FileManager.default.createFile(atPath: image, contents: Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])))
        expectOneLineError(try CommandRunner.affect(["analyze", image]), status: 65, mentioning: "broken.jpg")

        expectOneLineError(try CommandRunner.affect(["analyze", directory.path]), status: 65, mentioning: "directory")
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func truncatedVideo() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The first 300 kB of an MP4 whose index (moov atom) sits at the end.
        let clip = try Data(contentsOf: URL(fileURLWithPath: TestEnvironment.data("talking-heads/RD_Radio2_000.mp4")))
        let truncated = directory.appendingPathComponent("truncated.mp4").path
        #expect(FileManager.default.createFile(atPath: truncated, contents: clip.prefix(300_000)))
        expectOneLineError(try CommandRunner.affect(["analyze", truncated]), status: 65, mentioning: "truncated.mp4")
    }

    @Test func unsupportedScheme() throws {
        expectOneLineError(try CommandRunner.affect(["analyze", "ftp://127.0.0.1/clip.mp4"]), status: 64,
                           mentioning: "unsupported URL scheme 'ftp'")
    }

    @Test(arguments: ["rtsp://127.0.0.1:9/live", "http://127.0.0.1:9/cam.mjpg"])
    func unreachableStream(url: String) throws {
        expectOneLineError(try CommandRunner.affect(["analyze", url, "--timeout", "3"]), status: 69,
                           mentioning: "unreachable")
    }

    @Test func garbageOnStdin() throws {
        expectOneLineError(try CommandRunner.shell("head -c 4096 /dev/urandom | \"$AFFECT\" analyze -"), status: 65,
                           mentioning: "stdin")
    }

    @Test func directoryWithoutClassFolders() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("cats"), withIntermediateDirectories: true)
        let result = try CommandRunner.affect(["eval", directory.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("no class folders"))
        #expect(result.stdout.isEmpty)
    }

    @Test func badOptionsAreUsageErrors() throws {
        let result = try CommandRunner.affect(["analyze", "x.mp4", "--fps", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--fps"))
        let detector = try CommandRunner.affect(["analyze", "x.mp4", "--detector", "haar"])
        #expect(detector.status == 64)
    }

    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func existingOutputIsNotOverwritten() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("results.jsonl").path
        #expect(FileManager.default.createFile(atPath: output, contents: Data("earlier results\n".utf8)))
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("fer-fixtures/images/justin.jpg"), "-o", output])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--overwrite"))
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "earlier results\n")
    }

    @Test func alteredModelsStopTheEngine() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandRunner.affect(["analyze", "whatever.jpg", "--models", directory.path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("bootstrap"))
    }
}
