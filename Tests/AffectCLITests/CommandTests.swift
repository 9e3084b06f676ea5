import AffectTestSupport
import Foundation
import Testing

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite struct HelpTests {
    @Test func versionAndHelp() throws {
        let version = try CommandRunner.affect(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("affect "))
        for command in ["analyze", "eval", "bench", "models"] {
            let help = try CommandRunner.affect([command, "--help"])
            #expect(help.status == 0, "\(command)")
            #expect(help.stdout.contains("USAGE"), "\(command)")
        }
        #expect(try CommandRunner.affect(["analyze", "--help"]).stdout.contains("not how anyone feels"))
    }
}

@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct AnalyzeCommandTests {
    @Test func imageGivesOneJSONLineWithTheDocumentedShape() throws {
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("fer-fixtures/images/justin.jpg")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.count == 1)
        let frame = try jsonObject(result.stdoutLines[0])
        #expect(frame["frame"] as? Int == 0)
        let faces = try #require(frame["faces"] as? [[String: Any]])
        #expect(faces.count == 1)
        let emotions = try #require(faces[0]["emotions"] as? [String: Double])
        #expect(emotions.count == 7)
        #expect(abs(emotions.values.reduce(0, +) - 1) < 1e-6)
        #expect(faces[0]["dominant"] as? String == "happy")
        #expect((faces[0]["landmarks"] as? [[Double]])?.count == 5)
        #expect(result.stderr.contains("1 of 1 frames analysed"), "summary on stderr")
    }

    @Test func oneVideoReportHoldsTheRunsNumbers() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = directory.appendingPathComponent("report.html").path
        let output = directory.appendingPathComponent("out.jsonl").path
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4"),
                                               "--detector", "blazeface", "-o", output, "--report", report])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>") && html.contains("WDA_KatieHill_000.mp4"))
        for section in ["summary", "moments", "method", "provenance", "limitations"] { #expect(html.contains("id=\"\(section)\""), "\(section)") }
        // The report's mean happy probability over the video is the mean of the results written.
        let frames = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { try jsonObject(String($0)) }
        let happy = frames.compactMap { (($0["faces"] as? [[String: Any]])?.first?["emotions"] as? [String: Double])?["happy"] }
        #expect(happy.count == 40)
        let start = try #require(html.range(of: "<script type=\"application/json\" id=\"report-data\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let data = try jsonObject(String(html[start.upperBound..<end.lowerBound]))
        let overall = (data["stimuli"] as? [[String: Any]])?.first?["overall"] as? [String: Any]
        let reported = (overall?["expressions"] as? [[String: Any]])?[3]["mean"] as? Double
        #expect(abs((reported ?? -1) - happy.reduce(0, +) / Double(happy.count)) < 1e-6)
        let refused = try CommandRunner.affect(["analyze", "x.mp4", "--study", "S", "--participant", "p_0", "--report", report])
        #expect(refused.status == 64 && refused.stderr.contains("affect report"))
    }

    @Test func videoSummaryAsJSON() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = directory.appendingPathComponent("summary.json").path
        let output = directory.appendingPathComponent("out.csv").path
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4"),
                                               "--detector", "blazeface", "--format", "csv", "-o", output,
                                               "--summary", summary])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "results went to the file")
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(rows.first?.hasPrefix("frame,t_ms,face,track,x,y,w,h,score,angry") == true)
        #expect(rows.count == 41, "header + 40 frames with one face each")
        let totals = try jsonObject(try String(contentsOfFile: summary, encoding: .utf8))
        #expect(totals["frames_read"] as? Int == 200)
        #expect(totals["frames_analysed"] as? Int == 40)
        #expect(totals["faces"] as? Int == 40)
        #expect((totals["mean_emotions"] as? [String: Double])?.count == 7)
    }

    @Test func fpsAndEveryFrameChooseTheSampling() throws {
        let clip = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        let two = try CommandRunner.affect(["analyze", clip, "--fps", "2", "--detector", "blazeface"])
        #expect(two.stdoutLines.count == 16)
        let times = try two.stdoutLines.map { try jsonObject($0)["t_ms"] as? Double }
        // 2 per second of a 25 fps clip: frames 0, 13 (520 ms: the first at or after 500 ms), 25.
        #expect(times.prefix(3) == [0, 520, 1000])
    }

    @Test func y4mOnStdinIsTimedByItsFrameRate() throws {
        let result = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_BobMenendez_000.mp4"))' \
              -t 2 -f yuv4mpegpipe -pix_fmt yuv420p - | "$AFFECT" analyze - --detector blazeface
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let frames = try result.stdoutLines.map(jsonObject)
        #expect(frames.count == 10)
        #expect(frames.map { $0["frame"] as? Int } == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45])
        #expect(frames[1]["t_ms"] as? Double == 200)
        #expect(frames.allSatisfy { ($0["faces"] as? [Any])?.count == 1 })
    }

    /// Concatenated PNGs (lossless, so a page and the server can be given the very same pixels).
    @Test func pngsOnStdin() throws {
        let result = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_EdMarkey0_000.mp4"))' \
              -t 1 -f image2pipe -c:v png - | "$AFFECT" analyze - --every-frame --detector blazeface
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let frames = try result.stdoutLines.map(jsonObject)
        #expect(frames.count == 25)
        #expect(frames.allSatisfy { ($0["faces"] as? [Any])?.count == 1 })
    }

    @Test func aPNGCutShortOnStdinIsAClearError() throws {
        let result = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_EdMarkey0_000.mp4"))' \
              -frames:v 2 -f image2pipe -c:v png - | head -c 400000 | "$AFFECT" analyze - --every-frame --detector blazeface
            """)
        #expect(result.status != 0)
        #expect(result.stderr.contains("truncated PNG frame 1"), "\(result.stderr)")
        #expect(try result.stdoutLines.map(jsonObject).count == 1, "the whole first frame is still analysed")
    }

    @Test func mjpegOnStdin() throws {
        let result = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_EdMarkey0_000.mp4"))' \
              -t 1 -c:v mjpeg -q:v 3 -f mjpeg - | "$AFFECT" analyze - --every-frame --detector blazeface
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let frames = try result.stdoutLines.map(jsonObject)
        #expect(frames.count == 25)
        #expect(frames.allSatisfy { ($0["faces"] as? [Any])?.count == 1 })
    }

    @Test func stdinThatStopsSendingTimesOutAndKeepsResults() throws {
        let result = try CommandRunner.shell("""
            (ffmpeg -nostdin -loglevel error -i '\(TestEnvironment.data("talking-heads/WDA_EdMarkey0_000.mp4"))' \
              -t 1 -f yuv4mpegpipe -pix_fmt yuv420p -; sleep 6) | "$AFFECT" analyze - --timeout 2 --detector blazeface
            """)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("stopped sending"))
        #expect(result.stdoutLines.count == 5, "the frames before the stall are kept")
    }
}

@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct EvalBenchModelsCommandTests {
    @Test func evalReportsTheDocumentedKeysAndSkipsUnknownClasses() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A small labelled set linked from the shared data, plus a class the model does not score.
        let source = TestEnvironment.data("fer2013-publictest")
        for (folder, target) in [("happiness", "happy"), ("surprised", "surprise"), ("contempt", "neutral")] {
            let destination = directory.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            let files = try FileManager.default.contentsOfDirectory(atPath: source + "/" + target).sorted().prefix(20)
            for file in files {
                try FileManager.default.createSymbolicLink(atPath: destination.appendingPathComponent(file).path,
                                                           withDestinationPath: source + "/" + target + "/" + file)
            }
        }
        let result = try CommandRunner.affect(["eval", directory.path, "--no-detect"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("skipping folder contempt"))
        let report = try jsonObject(result.stdout)
        #expect(Set(report.keys) == ["n", "accuracy", "macro_f1", "per_class", "confusion", "ece", "no_face", "reliability",
                                     "ece_uncalibrated", "temperature"])
        #expect((report["temperature"] as? Double ?? 0) > 1, "calibrated by the manifest's temperature")
        #expect(report["n"] as? Int == 40)
        #expect(report["no_face"] as? Int == 0)
        #expect((report["accuracy"] as? Double ?? 0) > 0.6)
        let perClass = try #require(report["per_class"] as? [String: [String: Any]])
        #expect(perClass["happy"]?["support"] as? Int == 20)
    }

    /// --half takes every other image of each class folder; --fit-temperature and --report say how
    /// calibration does, the page drawing its reliability diagram with the report's chart.
    @Test func evalHalvesFitsAndWritesTheCalibrationPage() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestEnvironment.data("fer2013-publictest")
        for target in ["happy", "sad", "fear"] {
            let destination = directory.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: source + "/" + target).sorted().prefix(41) {
                try FileManager.default.createSymbolicLink(atPath: destination.appendingPathComponent(file).path,
                                                           withDestinationPath: source + "/" + target + "/" + file)
            }
        }
        let page = directory.appendingPathComponent("calibration.html").path
        let fit = try CommandRunner.affect(["eval", directory.path, "--no-detect", "--half", "fit", "--fit-temperature",
                                            "--report", page])
        #expect(fit.status == 0, "\(fit.stderr)")
        let report = try jsonObject(fit.stdout)
        #expect(report["n"] as? Int == 63, "21 of each 41")
        #expect((report["fitted_temperature"] as? Double ?? 0) > 0)
        #expect(fit.stderr.contains("uncalibrated"))
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("AffectChart") && html.contains("id=\"reliability\"") && html.contains("calibrated (temperature"))
        let heldOut = try CommandRunner.affect(["eval", directory.path, "--no-detect", "--half", "held-out", "--uncalibrated"])
        let raw = try jsonObject(heldOut.stdout)
        #expect(raw["n"] as? Int == 60 && raw["temperature"] == nil)
        #expect(raw["ece"] as? Double == raw["ece_uncalibrated"] as? Double)
        let again = try CommandRunner.affect(["eval", directory.path, "--no-detect", "--report", page])
        #expect(again.status != 0 && again.stderr.contains("exists"), "\(again.stderr)")
    }

    @Test func evalWithDetectionCountsImagesWithoutFaces() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let happy = directory.appendingPathComponent("happy")
        try FileManager.default.createDirectory(at: happy, withIntermediateDirectories: true)
        for file in ["pyfeat-fixtures/images/single_face.jpg", "fer-fixtures/images/justin.jpg", "fer-fixtures/images/no-faces.jpg"] {
            try FileManager.default.createSymbolicLink(atPath: happy.appendingPathComponent((file as NSString).lastPathComponent).path,
                                                       withDestinationPath: TestEnvironment.data(file))
        }
        let result = try CommandRunner.affect(["eval", directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["n"] as? Int == 3)
        #expect(report["no_face"] as? Int == 1)
        #expect(abs((report["accuracy"] as? Double ?? 0) - 2.0 / 3.0) < 1e-9)
    }

    @Test func benchReportsStageTimes() throws {
        let result = try CommandRunner.affect(["bench", TestEnvironment.data("talking-heads/RD_Radio34_000.mp4"),
                                               "--format", "json", "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["frames"] as? Int == 200)
        #expect(report["faces"] as? Int == 200)
        for key in ["fps", "decode_ms", "detect_ms", "classify_ms"] {
            #expect((report[key] as? Double ?? 0) > 0, "\(key)")
        }
    }

    /// The capture benchmark runs the real path: a local server, participant pages on WebSockets,
    /// stored results read back. Its speed is measured in docs/benchmarks.md, not here.
    @Test func benchThroughWebSocketsReadsStoredResultsBack() throws {
        let result = try CommandRunner.affect(["bench", TestEnvironment.data("talking-heads/RD_Radio34_000.mp4"),
                                               "--streams", "3", "--websocket", "--duration", "3", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["clients"] as? Int == 3)
        #expect(report["closes"] as? [String: Int] == ["normalClosure": 3], "every page's session closed normally")
        let sent = try #require(report["frames_sent"] as? Int)
        let answered = try #require(report["frames_answered"] as? Int)
        #expect(sent >= 3 * 5, "3 s at the adaptive base rate of 2 frames/s or more")
        #expect(answered > 0 && answered <= sent, "stored results came back for the frames sent: \(answered) of \(sent)")
        let endToEnd = try #require(report["end_to_end"] as? [String: Double])
        let engine = try #require(report["engine"] as? [String: Double])
        #expect((endToEnd["p50_ms"] ?? 0) >= (engine["p50_ms"] ?? 0), "end to end includes the engine's part")
        let alone = try CommandRunner.affect(["bench", "clip.mp4", "--websocket"])
        #expect(alone.status == 64 && alone.stderr.contains("--push and --websocket need --streams N"))
    }

    @Test func modelsListsVerifiedProvenance() throws {
        let result = try CommandRunner.affect(["models", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 5, "emotion, two detectors, face mesh, iris")
        #expect(entries.allSatisfy { $0["verified"] as? Bool == true })
    }
}
