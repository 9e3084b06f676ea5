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

    /// P6 finding 5: the first 700 bytes of a JPEG gave `"faces": []` and exit 0, without a word.
    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func truncatedAndCorruptImages() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let justin = try Data(contentsOf: URL(fileURLWithPath: TestEnvironment.data("fer-fixtures/images/justin.jpg")))
        let truncated = directory.appendingPathComponent("justin-700.jpg").path
        #expect(FileManager.default.createFile(atPath: truncated, contents: justin.prefix(700)))
        expectOneLineError(try CommandRunner.affect(["analyze", truncated]), status: 65,
                           mentioning: "justin-700.jpg: the image is damaged (premature end of JPEG file)")
        // Entropy-coded data overwritten in the middle: libjpeg warns and makes up pixels; Affect refuses.
        var corrupt = [UInt8](justin)
        let scan = try #require((2..<corrupt.count - 1).first { corrupt[$0] == 0xFF && corrupt[$0 + 1] == 0xDA })
        for offset in stride(from: scan + 400, to: min(corrupt.count - 2, scan + 4000), by: 13)
        where corrupt[offset - 1] != 0xFF && corrupt[offset] != 0xFF && corrupt[offset] ^ 0x0F != 0xFF {
            corrupt[offset] ^= 0x0F
        }
        let damaged = directory.appendingPathComponent("justin-corrupt.jpg").path
        #expect(FileManager.default.createFile(atPath: damaged, contents: Data(corrupt)))
        expectOneLineError(try CommandRunner.affect(["analyze", damaged]), status: 65, mentioning: "justin-corrupt.jpg: the image is damaged")
    }

    /// P6 finding 2 for files: a few hundred bytes can declare 32000x32000 pixels; the header is read
    /// first and nothing is decoded.
    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func imagesOverThePixelLimitAreRefusedBeforeDecoding() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestEnvironment.data("fer-fixtures/images/justin.jpg"))))
        let frame = try #require((2..<bytes.count - 1).first { bytes[$0] == 0xFF && (0xC0...0xC2).contains(bytes[$0 + 1]) })
        bytes.replaceSubrange((frame + 5)...(frame + 8), with: [0x7D, 0x00, 0x7D, 0x00])  // 32000 x 32000
        let bomb = directory.appendingPathComponent("bomb.jpg").path
        #expect(FileManager.default.createFile(atPath: bomb, contents: Data(bytes)))
        expectOneLineError(try CommandRunner.affect(["analyze", bomb]), status: 65,
                           mentioning: "bomb.jpg: a 32000x32000 image is over the 64 MP limit; nothing was decoded")
        let evalDirectory = directory.appendingPathComponent("set/happy")
        try FileManager.default.createDirectory(at: evalDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bomb, toPath: evalDirectory.appendingPathComponent("bomb.jpg").path)
        let eval = try CommandRunner.affect(["eval", directory.appendingPathComponent("set").path, "--no-detect"])
        #expect(eval.stderr.contains("over the 64 MP limit") && eval.stderr.contains("1 unreadable images skipped"), "\(eval.stderr)")
        let tight = try CommandRunner.affect(["analyze", TestEnvironment.data("fer-fixtures/images/justin.jpg"), "--max-image-pixels", "1000"])
        #expect(tight.status == 65 && tight.stderr.contains("over the 1000-pixel limit"), "\(tight.stderr)")
    }

    /// A video cut short: the readable frames are analysed and one line says what was not.
    @Test(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
    func aVideoCutShortIsAnalysedAsFarAsItGoesAndSaysSo() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = directory.appendingPathComponent("faststart.mp4").path
        let cut = directory.appendingPathComponent("cut.mp4").path
        // Index first, so a file cut in the middle is still readable up to the cut.
        let made = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("fer-fixtures/videos/woman2.mp4"))' -c copy -movflags +faststart '\(whole)' \
              && head -c 900000 '\(whole)' > '\(cut)'
            """)
        #expect(made.status == 0, "\(made.stderr)")
        let result = try CommandRunner.affect(["analyze", cut, "--fps", "1", "--detector", "blazeface"])
        #expect(result.status == 0, "\(result.stderr)")
        let damage = result.stderr.split(separator: "\n").filter { $0.contains("could not be read") }
        #expect(damage.count == 1, "\(result.stderr)")
        #expect(damage.first?.contains("of 464 declared frames could not be read (damaged or cut short)") == true)
        #expect(!result.stdout.isEmpty, "the readable part was analysed")
        let wholeRun = try CommandRunner.affect(["analyze", whole, "--fps", "1", "--detector", "blazeface"])
        #expect(!wholeRun.stderr.contains("could not be read"), "an intact file says nothing: \(wholeRun.stderr)")
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
