import AffectCore
import AffectPipeline
import AffectVision
import ArgumentParser
import Foundation

extension DetectorKind: ExpressibleByArgument {}
extension ResultFormat: ExpressibleByArgument {}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find faces and score their expressions in an image, video file or stream.",
        discussion: """
        INPUT is an image or video file, an rtsp://, http(s):// or udp:// URL, a camera
        (/dev/video0), or - for Motion JPEG or YUV4MPEG2 (Y4M) on stdin.

        Output (stdout, or --output FILE) has one JSON object per analysed frame:
          {"frame": 37, "t_ms": 1480, "faces": [{"box": [x, y, w, h],
           "score": 0.97, "landmarks": [[x, y], ...],
           "emotions": {"angry": 0.01, ..., "neutral": 0.03},
           "dominant": "happy", "valence": 0.71, "arousal": 0.42}]}
        A frame without faces has "faces": []. t_ms is index / fps for files
        and a monotonic clock for live sources. With --format csv there is one
        row per face. Emotion values say how a face looks, not how anyone feels.

        A summary (frames read and analysed, faces, mean distribution, speed) goes to
        stderr, or as JSON to --summary FILE.
        """
    )

    @Argument(help: "Image, video file, stream URL, /dev/videoN, or - for stdin.")
    var input: String

    @Option(help: "Analysed frames per second of source time (default 5 for files and streams).")
    var fps: Double?

    @Flag(help: "Analyse every frame instead of sampling.")
    var everyFrame = false

    @Option(help: "Face detector: centerface (many and small faces) or blazeface (webcam distance, faster).")
    var detector: DetectorKind = .centerface

    @Option(help: "Output format: jsonl (one object per frame) or csv (one row per face).")
    var format: ResultFormat = .jsonl

    @Option(name: .shortAndLong, help: "Write results to this file instead of stdout.")
    var output: String?

    @Flag(help: "Replace --output or --summary files that already exist.")
    var overwrite = false

    @Option(help: "Write the run summary as JSON to this file.")
    var summary: String?

    @OptionGroup(title: "Classification")
    var classification: ClassifierOptions

    @Option(help: "Seconds a stream may take to open or go without sending a frame.")
    var timeout: Double = 10

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    func validate() throws {
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be between 0 and 1000") }
        if fps != nil && everyFrame { throw ValidationError("--fps and --every-frame exclude each other") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        try CommandFailure.reporting {
            let parsedInput = try VideoInput(parsing: input)
            let catalog = try ModelCatalog(directory: models)
            let analyzer = try FrameAnalyzer(catalog: catalog, detector: detector,
                                             options: classification.options)
            let source = try parsedInput.open(timeoutSeconds: timeout)
            let policy: SamplingPolicy = everyFrame ? .everyFrame : fps.map { .fixed(framesPerSecond: $0) } ?? .fileDefault
            let summaryFile = try summary.map { try OutputFile(path: $0, overwrite: overwrite) }
            let out = try OutputFile(path: output, overwrite: overwrite)
            if let header = format.header { try out.writeLine(header) }
            var run = AnalysisRun(policy: policy, analyzer: analyzer)
            let label = (input as NSString).lastPathComponent
            let result = try run.run(source: source, sink: { frame in
                for line in try format.lines(for: frame) { try out.writeLine(line) }
            }, progress: { done, total in Console.progress(label, done: done, total: total) })
            try out.close()
            Console.clearProgress()
            if let summaryFile {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try summaryFile.writeLine(String(decoding: try encoder.encode(result), as: UTF8.self))
                try summaryFile.close()
            } else {
                Console.info(Self.describe(result))
            }
        }
    }

    static func describe(_ summary: AnalysisSummary) -> String {
        var text = "\(summary.input): \(summary.framesAnalysed) of \(summary.framesRead) frames analysed, "
            + "\(summary.faces) faces, \(String(format: "%.1f", summary.elapsedSeconds)) s, "
            + "\(String(format: "%.1f", summary.analysedFramesPerSecond)) analysed frames/s (\(summary.detector))"
        if let mean = summary.meanEmotions {
            text += "\nmean expression probabilities: "
                + Emotion.allCases.map { "\($0.rawValue) \(String(format: "%.2f", mean[$0]))" }.joined(separator: ", ")
        }
        return text
    }
}
