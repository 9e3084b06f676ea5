import AffectCore
import AffectTestSupport
import Foundation
import Testing

/// `affect agreement` on a coder's file and analyze's JSON lines written by hand, so every figure is
/// known; `affect bias` on real images with a groups file.
@Suite struct AgreementCommandTests {
    static func face(_ emotion: Emotion, score: Double = 0.9, track: Int? = nil) -> FaceResult {
        var scores = Array(repeating: 0.05, count: 7)
        scores[emotion.index] = 0.7
        return FaceResult(box: Box(x: 0, y: 0, width: 10, height: 10), score: score, landmarks: [],
                          emotions: EmotionDistribution(scores: scores) ?? .uniform, track: track)
    }

    /// The ten pairs of AuditStatisticsTests (kappa 6/11), with frame 9 holding two faces (the
    /// coder's `face` column picks the second), a code for a frame without results and one that is
    /// not an expression.
    @Test func agreementMatchesTheHandComputedFixture() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model: [Emotion] = [.happy, .happy, .happy, .neutral, .neutral, .neutral, .happy, .sad, .neutral, .sad]
        let coded: [Emotion] = [.happy, .happy, .happy, .happy, .neutral, .neutral, .neutral, .sad, .sad, .sad]
        var lines: [String] = []
        for (frame, emotion) in model.enumerated() {
            let faces = frame == 9 ? [Self.face(.happy, score: 0.99), Self.face(emotion, score: 0.5)] : [Self.face(emotion)]
            lines += try ResultFormat.jsonl.lines(for: FrameResult(frame: frame * 5, timeMilliseconds: Double(frame) * 200, faces: faces))
        }
        let results = directory.appendingPathComponent("results.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: results, atomically: true, encoding: .utf8)
        var codes = ["frame,code,face"]
        for (frame, emotion) in coded.enumerated() { codes.append("\(frame * 5),\(emotion.rawValue),\(frame == 9 ? "1" : "")") }
        codes += ["100,happy,", "10,contempt,"]
        let codesFile = directory.appendingPathComponent("codes.csv")
        try (codes.joined(separator: "\r\n") + "\r\n").write(to: codesFile, atomically: true, encoding: .utf8)

        let result = try CommandRunner.affect(["agreement", codesFile.path, results.path])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try jsonObject(result.stdout)
        #expect(output["n"] as? Int == 10 && output["unmatched"] as? Int == 1 && output["skipped_codes"] as? Int == 1)
        #expect(abs((output["kappa"] as? Double ?? 0) - 6.0 / 11) < 1e-12)
        #expect(abs((output["observed"] as? Double ?? 0) - 0.7) < 1e-12)
        let perClass = try #require(output["per_class"] as? [String: [String: Any]])
        #expect(perClass["happy"]?["agreement"] as? Double == 0.75)
        #expect(result.stderr.contains("contempt") && result.stderr.contains("1 codes name frames"))
        let text = try CommandRunner.affect(["agreement", codesFile.path, results.path, "--format", "text"])
        #expect(text.stdout.contains("kappa 0.545"))

        // Mistakes: one clear line each, exit 65 or 66.
        let noHeader = directory.appendingPathComponent("bad.csv")
        try "0,happy\n".write(to: noHeader, atomically: true, encoding: .utf8)
        let bad = try CommandRunner.affect(["agreement", noHeader.path, results.path])
        #expect(bad.status == 65 && bad.stderr.contains("no frame column"), "\(bad.stderr)")
        let missing = try CommandRunner.affect(["agreement", codesFile.path, directory.appendingPathComponent("none.jsonl").path])
        #expect(missing.status == 66, "\(missing.stderr)")
        let notResults = try CommandRunner.affect(["agreement", codesFile.path, codesFile.path])
        #expect(notResults.status == 65 && notResults.stderr.contains("not an affect analyze JSON line"), "\(notResults.stderr)")
        let quote = directory.appendingPathComponent("quote.csv")
        try "frame,code\n0,\"happy\n".write(to: quote, atomically: true, encoding: .utf8)
        let unclosed = try CommandRunner.affect(["agreement", quote.path, results.path])
        #expect(unclosed.status == 65 && unclosed.stderr.contains("line 2 has an unclosed quote"), "\(unclosed.stderr)")
    }
}

@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct BiasCommandTests {
    @Test func biasReportsGroupsAndFailsUnderTheRatio() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestEnvironment.data("fer2013-publictest")
        var groups = ["path,group"]
        for target in ["happy", "sad"] {
            let destination = directory.appendingPathComponent("faces/" + target)
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            for (index, file) in try FileManager.default.contentsOfDirectory(atPath: source + "/" + target).sorted().prefix(20).enumerated() {
                try FileManager.default.createSymbolicLink(atPath: destination.appendingPathComponent(file).path,
                                                           withDestinationPath: source + "/" + target + "/" + file)
                if index < 18 { groups.append("\(target)/\(file),\(index % 2 == 0 ? "even" : "odd")") }
            }
        }
        let groupsFile = directory.appendingPathComponent("groups.csv")
        try groups.joined(separator: "\n").write(to: groupsFile, atomically: true, encoding: .utf8)
        let faces = directory.appendingPathComponent("faces").path
        let page = directory.appendingPathComponent("bias.html").path
        // DIR relative to the working directory, as a user types it.
        let result = try CommandRunner.affect(["bias", "faces", "--groups", groupsFile.path, "--no-detect", "--resamples", "200",
                                               "--min-ratio", "0.5", "--report", page], directory: directory)
        let audit = try jsonObject(result.stdout)
        let reported = try #require(audit["groups"] as? [[String: Any]])
        #expect(reported.map { $0["group"] as? String } == ["even", "odd"])
        #expect(reported.map { $0["n"] as? Int } == [18, 18])
        #expect(result.stderr.contains("4 images without a group left out"), "\(result.stderr)")
        let ratios = reported.compactMap { $0["accuracy_ratio"] as? Double } + reported.compactMap { $0["macro_f1_ratio"] as? Double }
        #expect(ratios.count == 4 && ratios.contains(1))
        for group in reported {
            let accuracy = try #require(group["accuracy"] as? [String: Double])
            #expect((accuracy["low"] ?? 2) <= (accuracy["value"] ?? 0) && (accuracy["value"] ?? 2) <= (accuracy["high"] ?? 0))
            #expect((group["recall"] as? [String: Any])?.keys.sorted() == ["happy", "sad"])
        }
        // The exit code follows the verdict, and a threshold above the worst ratio fails.
        let passed = audit["passed"] as? Bool
        #expect(result.status == (passed == true ? 0 : 1), "\(result.stderr)")
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("id=\"verdict\" data-passed=\"\(passed == true)\""))
        if let worst = ratios.min(), worst < 1 {
            let strict = try CommandRunner.affect(["bias", faces, "--groups", groupsFile.path, "--no-detect", "--resamples", "0",
                                                   "--min-ratio", String(min(1, worst + 0.01))])
            #expect(strict.status == 1 && strict.stderr.contains("ratio"), "\(strict.stderr)")
        }
        let noGroupColumn = directory.appendingPathComponent("bad.csv")
        try "path,team\nhappy/x.jpg,a\n".write(to: noGroupColumn, atomically: true, encoding: .utf8)
        let bad = try CommandRunner.affect(["bias", faces, "--groups", noGroupColumn.path, "--no-detect"])
        #expect(bad.status == 65 && bad.stderr.contains("no group column"), "\(bad.stderr)")
        let nothing = directory.appendingPathComponent("none.csv")
        try "path,group\nelsewhere.jpg,a\n".write(to: nothing, atomically: true, encoding: .utf8)
        let none = try CommandRunner.affect(["bias", faces, "--groups", nothing.path, "--no-detect"])
        #expect(none.status == 65 && none.stderr.contains("no image under"), "\(none.stderr)")
    }
}
