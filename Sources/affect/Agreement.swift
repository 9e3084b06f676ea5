import AffectCore
import AffectVision
import ArgumentParser
import Foundation

struct Agreement: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a person's expression codes with the model's on the same frames.",
        discussion: """
        Validate on your own footage before trusting the numbers: have a person code frames \\
        of a video, run `affect analyze VIDEO --output RESULTS.jsonl` with a sampling that \\
        includes those frames (--every-frame is simplest), then compare.

        CODES.csv has a header row with the columns frame and code (one of angry, disgust, \\
        fear, happy, neutral, sad, surprise; anger, happiness, sadness, surprised also work), \\
        and optionally face (the face's position in the frame's list, as --format csv numbers \\
        it) or track (with analyze --track). Without them the most confident face is compared. \\
        Codes that are not one of the seven (contempt, none) are skipped and counted.

        JSON keys: n, observed, expected, kappa (Cohen's), kappa_standard_error, kappa_low and \\
        kappa_high (95%), per_class (coder, model, both, agreement = 2 x both / (coder + model), \\
        model_recall), confusion (code -> model -> frames), unmatched (codes for frames or faces \\
        the results do not have), skipped_codes.

        Example: affect agreement codes.csv results.jsonl --format text
        """
    )

    @Argument(help: ArgumentHelp("The person's codes: frame,code[,face|track].", valueName: "CODES.csv"))
    var codes: String

    @Argument(help: ArgumentHelp("affect analyze's JSON lines for the same video.", valueName: "RESULTS.jsonl"))
    var results: String

    @Option(help: "Output format: json or text.")
    var format: TextOrJSON = .json

    struct Output: Encodable {
        var agreement: CoderAgreement
        var unmatched: Int
        var skippedCodes: Int

        enum CodingKeys: String, CodingKey {
            case unmatched
            case skippedCodes = "skipped_codes"
        }

        func encode(to encoder: Encoder) throws {
            try agreement.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(unmatched, forKey: .unmatched)
            try container.encode(skippedCodes, forKey: .skippedCodes)
        }
    }

    func run() throws {
        try CommandFailure.reporting {
            let table = try CSVTable(path: codes)
            let frameColumn = try table.column("frame", path: codes, example: "frame,code")
            let codeColumn = try table.column("code", path: codes, example: "frame,code")
            let faceColumn = table.columns.firstIndex(of: "face"), trackColumn = table.columns.firstIndex(of: "track")
            // Only the coded frames are kept from the results, which may be a long video's.
            let coded = Set(table.rows.compactMap { Int($0.fields[frameColumn].trimmingCharacters(in: .whitespaces)) })
            let frames = try Self.readResults(results, keeping: coded)
            var pairs: [(coder: Emotion, model: Emotion)] = []
            var unmatched = 0, skipped: [String: Int] = [:]
            for row in table.rows {
                guard let frame = Int(row.fields[frameColumn].trimmingCharacters(in: .whitespaces)), frame >= 0 else {
                    throw VisionError.inputUnreadable(path: codes, reason: "line \(row.line): frame must be a whole number")
                }
                let code = row.fields[codeColumn].trimmingCharacters(in: .whitespaces)
                guard let coded = Emotion(label: code) else {
                    skipped[code.isEmpty ? "(empty)" : code, default: 0] += 1
                    continue
                }
                guard let faces = frames[frame], !faces.isEmpty else {
                    unmatched += 1
                    continue
                }
                let face: FaceResult?
                if let faceColumn, let index = Int(row.fields[faceColumn].trimmingCharacters(in: .whitespaces)) {
                    face = faces.indices.contains(index) ? faces[index] : nil
                } else if let trackColumn, let track = Int(row.fields[trackColumn].trimmingCharacters(in: .whitespaces)) {
                    face = faces.first { $0.track == track }
                } else {
                    face = faces.max { $0.score < $1.score }
                }
                guard let face else {
                    unmatched += 1
                    continue
                }
                pairs.append((coded, face.dominant))
            }
            guard !pairs.isEmpty else {
                throw VisionError.inputUnreadable(path: codes, reason: "no code matches a frame with a face in \(results)")
            }
            if !skipped.isEmpty {
                Console.info("skipped codes that are not one of the seven expressions: " + skipped.countsText)
            }
            if unmatched > 0 { Console.info("\(unmatched) codes name frames or faces the results do not have") }
            let output = Output(agreement: CoderAgreement(pairs: pairs), unmatched: unmatched,
                                skippedCodes: skipped.values.reduce(0, +))
            switch format {
            case .json: try JSONOutput.print(output)
            case .text: print(Self.describe(output.agreement))
            }
        }
    }

    /// The longest results line read: one frame's faces (a few hundred bytes each).
    static let maximumLineBytes = 16 << 20

    /// Faces by frame number, for the frames in `wanted`, from analyze's JSON lines, read in chunks so
    /// a results file of any length takes memory only for the coded frames. A line that is not a frame
    /// result is an error.
    static func readResults(_ path: String, keeping wanted: Set<Int>) throws -> [Int: [FaceResult]] {
        guard FileManager.default.fileExists(atPath: path) else { throw VisionError.inputMissing(path: path) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VisionError.inputUnreadable(path: path, reason: "cannot read")
        }
        defer { try? handle.close() }
        var frames: [Int: [FaceResult]] = [:]
        var pending = Data(), lineNumber = 0, sawFrame = false
        let decoder = JSONDecoder()
        func take(_ line: Data) throws {
            lineNumber += 1
            guard !line.isEmpty else { return }
            guard let result = try? decoder.decode(FrameResult.self, from: line) else {
                throw VisionError.inputUnreadable(path: path, reason: "line \(lineNumber) is not an affect analyze JSON line")
            }
            sawFrame = true
            if wanted.contains(result.frame) { frames[result.frame] = result.faces }
        }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending.append(chunk)
            while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                try take(pending[pending.startIndex..<end])
                pending = pending[pending.index(after: end)...]
            }
            if pending.count > maximumLineBytes {
                throw VisionError.inputUnreadable(path: path, reason: "line \(lineNumber + 1) is longer than 16 MB")
            }
            pending = Data(pending)
        }
        try take(pending)
        guard sawFrame else { throw VisionError.inputEmpty(path: path) }
        return frames
    }

    static func describe(_ agreement: CoderAgreement) -> String {
        var lines = [String(format: "n %d  observed %.3f  chance %.3f  kappa %@", agreement.n, agreement.observed,
                            agreement.expected,
                            agreement.kappa.map { String(format: "%.3f [%.3f, %.3f]", $0, agreement.kappaLow ?? 0,
                                                         agreement.kappaHigh ?? 0) } ?? "undefined"),
                     "expression  coder  model  both  agreement  model recall"]
        for emotion in Emotion.allCases {
            guard let row = agreement.perClass[emotion.rawValue], row.coder + row.model > 0 else { continue }
            lines.append(emotion.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "  %5d  %5d  %4d  %9@  %@", row.coder, row.model, row.both,
                         row.agreement.map { String(format: "%.3f", $0) } ?? "-",
                         row.modelRecall.map { String(format: "%.3f", $0) } ?? "-"))
        }
        return lines.joined(separator: "\n")
    }
}
