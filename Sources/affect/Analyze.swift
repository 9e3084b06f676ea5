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
        INPUT is an image or video file, an rtsp://, http(s):// or udp:// URL, a camera \
        (/dev/video0), or - for Motion JPEG, PNGs or YUV4MPEG2 (Y4M) on stdin.

        Output (stdout, or --output FILE) has one JSON object per analysed frame:
          {"frame": 37, "t_ms": 1480, "faces": [{"box": [x, y, w, h],
           "score": 0.97, "landmarks": [[x, y], ...],
           "emotions": {"angry": 0.01, ..., "neutral": 0.03},
           "dominant": "happy", "valence": 0.71, "arousal": 0.42}]}
        A frame without faces has "faces": []. t_ms is index / fps for files \
        and a monotonic clock for live sources. With --format csv there is one \
        row per face. Emotion values say how a face looks, not how anyone feels.

        A summary (frames read and analysed, faces, mean distribution, speed) goes to \
        stderr, or as JSON to --summary FILE.

        With --study and --participant, results go into the study's database instead, in \
        the shape its mode allows (per face, windowed aggregates, or per-frame group means; \
        with --track, individual studies also keep moments), and stdout gets the session as JSON. The participant needs valid consent (exit 77 \
        otherwise, with nothing stored); if they withdraw while it runs, analysis stops at \
        the next frame and their results are deleted.
        """
    )

    @Argument(help: "Image, video file, stream URL, /dev/videoN, or - for stdin.")
    var input: String

    @Option(help: ArgumentHelp("Sampling policy: fixed, adaptive or every-frame.",
                               discussion: "Default: fixed 5 fps for files and images, adaptive 2 to 10 fps for streams, cameras and stdin."))
    var policy: PolicyName?

    @Option(help: "Analysed frames per second (the base rate for adaptive).")
    var fps: Double?

    @Option(help: "Highest rate adaptive sampling escalates to (default 10).")
    var maxFps: Double?

    @Flag(help: "Analyse every frame (same as --policy every-frame).")
    var everyFrame = false

    @Flag(help: "Follow faces with ephemeral track ids (no identity), add smoothed distributions and find moments.")
    var track = false

    @Flag(help: ArgumentHelp("Also measure head pose, gaze, eyes, mouth and attention per face (a landmark stage; slower).",
                             discussion: "Adds head_pose, gaze, eyes_open, mouth_open, geometry and attending to each face; with --track, blinks are found too."))
    var measures = false

    @Option(help: "Half-life in milliseconds of the per-track smoothing.")
    var halfLife: Double = 500

    @Option(help: "Write moments (an expression held above 0.6 for 500 ms or more) as JSON lines to this file; implies --track.")
    var moments: String?

    @Flag(help: "Pace a file at its own frame rate, as a live stream would arrive.")
    var realtime = false

    @Flag(help: "Reopen a stream that ends, stalls or drops, with exponential backoff (0.5 s doubling to 10 s).")
    var reconnect = false

    @Option(help: "With --reconnect: give up after this many reconnections (default: never).")
    var reconnectLimit: Int?

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

    @Option(help: ArgumentHelp("Also write a one-video HTML report (timelines, moments, provenance) to this file.",
                               valueName: "FILE.html"))
    var report: String?

    @OptionGroup(title: "Classification")
    var classification: ClassifierOptions

    @Option(help: "Seconds a stream may take to open or go without sending a frame.")
    var timeout: Double = 10

    @Option(help: ArgumentHelp("Largest image or video frame to decode, in pixels (width x height; default 64000000).",
                               discussion: "Checked against the file's header before decoding: a small file can declare a huge picture."))
    var maxImagePixels = PixelLimit.files

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    @Option(help: "Store results in this study (id or name) instead of printing them; needs --participant.")
    var study: String?

    @Option(help: "The consenting participant (p_...) whose session this is, with --study.")
    var participant: String?

    @Option(help: "The stimulus (sm_...) the participant watched, with --study.")
    var stimulus: String?

    @OptionGroup(title: "Study database")
    var database: DatabaseOptions

    func validate() throws {
        for (name, value) in [("--fps", fps), ("--max-fps", maxFps)] {
            if let value, !(value > 0 && value <= 1000) { throw ValidationError("\(name) must be between 0 and 1000") }
        }
        if everyFrame && (fps != nil || (policy != nil && policy != .everyFrame)) {
            throw ValidationError("--every-frame excludes --fps and other policies")
        }
        if let fps, let maxFps, maxFps < fps { throw ValidationError("--max-fps must be at least --fps") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if !(1...1_000_000_000).contains(maxImagePixels) { throw ValidationError("--max-image-pixels must be 1 to 1000000000") }
        if !(halfLife >= 0) { throw ValidationError("--half-life must not be negative") }
        if let reconnectLimit, reconnectLimit < 0 { throw ValidationError("--reconnect-limit must not be negative") }
        if (study == nil) != (participant == nil) { throw ValidationError("--study and --participant go together") }
        if study != nil && (output != nil || moments != nil || format != .jsonl || report != nil) {
            throw ValidationError("with --study, results go to the study's database: --output, --moments, --format and --report "
                + "do not apply (use `affect report`)")
        }
        if study == nil && (database.location != nil || stimulus != nil) {
            throw ValidationError("--db and --stimulus need --study")
        }
    }

    /// The sampling policy the options and the kind of input ask for.
    func samplingPolicy(live: Bool) -> SamplingPolicy {
        let name = everyFrame ? .everyFrame : policy ?? (live ? .adaptive : .fixed)
        return name.policy(fps: fps ?? (name == .fixed && !live ? 5 : 2), maxFps: maxFps ?? 10)
    }

    func openSource(_ input: VideoInput) throws -> any FrameSource {
        guard reconnect, case .stream(let url) = input else {
            return try input.open(timeoutSeconds: timeout, maximumPixels: maxImagePixels)
        }
        return try ReconnectingFrameSource(name: url, limit: reconnectLimit, log: { Console.info("affect: \($0)") }) {
            try input.open(timeoutSeconds: timeout, maximumPixels: maxImagePixels)
        }
    }

    func run() throws {
        try CommandFailure.reporting {
            let parsedInput = try VideoInput(parsing: input)
            let catalog = try ModelCatalog(directory: models)
            // Built now so a missing or altered model fails before any input is opened.
            let analyzer = try FrameAnalyzer(catalog: catalog, detector: detector, options: classification.options,
                                             measures: measures)
            let source = try openSource(parsedInput)
            if let study, let participant {
                try analyzeIntoStudy(study: study, participant: participant, source: source, parsedInput: parsedInput,
                                     catalog: catalog, analyzer: analyzer)
                return
            }
            // Outputs are created only once the input has opened, so a bad input leaves no empty files.
            let summaryFile = try summary.map { try OutputFile(path: $0, overwrite: overwrite) }
            let momentFile = try moments.map { try OutputFile(path: $0, overwrite: overwrite) }
            let reportFile = try report.map { try OutputFile(path: $0, overwrite: overwrite) }
            let collected = ReportCollector(), collecting = reportFile != nil
            let out = try OutputFile(path: output, overwrite: overwrite)
            let options = AnalysisOptions(policy: samplingPolicy(live: source.isLive), tracking: track || moments != nil,
                                          smoothingHalfLifeMilliseconds: halfLife, realtime: realtime)
            let writer = try ResultWriter(output: out, moments: momentFile, format: format)
            let result: AnalysisSummary
            do {
                switch try analyse(source: source, parsedInput: parsedInput, options: options, catalog: catalog,
                                   analyzer: analyzer, sink: { result in
                                       writer.write(result)
                                       if collecting { collected.add(result) }
                                   }, momentSink: { writer.write($0) }) {
                case .file(let summary): result = summary
                case .live(let report): result = writer.summary(input: input, report: report, detector: detector.rawValue)
                }
            } catch {
                // What was analysed before a stream failed is kept.
                try? writer.finish()
                throw error
            }
            try writer.finish()
            if let reportFile {
                let provenance = provenance(catalog: catalog, policy: options.policy)
                try reportFile.writeLine(try collected.report(input: input, provenance: provenance).html())
                try reportFile.close()
            }
            if source.isLive { Console.info("affect: \(input): stream ended") }
            Console.clearProgress()
            if let summaryFile {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try summaryFile.writeLine(String(decoding: try encoder.encode(result), as: UTF8.self))
                try summaryFile.close()
            } else {
                Console.info(Self.describe(result))
            }
            if let damage = result.damageText { Console.info("affect: \(damage)") }
        }
    }

    /// How a run went: a file read in step, or live streams through the engine.
    enum Outcome {
        case file(AnalysisSummary)
        case live(LiveEngine.Report)

        var framesRead: Int {
            switch self {
            case .file(let summary): summary.framesRead
            case .live(let report): report.framesReceived
            }
        }

        var framesAnalysed: Int {
            switch self {
            case .file(let summary): summary.framesAnalysed
            case .live(let report): report.framesAnalysed
            }
        }
    }

    /// Analyses a source, sending results to the sinks. Network streams and cameras (and --realtime
    /// files) go through the live engine: capture never waits for analysis, late frames are dropped and
    /// counted, and the load ladder applies. A pipe on stdin already holds its writer back when analysis
    /// is slower, so it and files are read in step and nothing is dropped. A sink that throws stops the run
    /// and its error is rethrown.
    func analyse(source: any FrameSource, parsedInput: VideoInput, options: AnalysisOptions, catalog: ModelCatalog,
                 analyzer: FrameAnalyzer, sink: @escaping @Sendable (FrameResult) throws -> Void,
                 momentSink: @escaping @Sendable (Moment) throws -> Void) throws -> Outcome {
        guard realtime || parsedInput.isCaptured else {
            let label = (input as NSString).lastPathComponent
            return .file(try AnalysisRun(options: options, analyzer: analyzer).run(
                source: source, sink: sink, momentSink: momentSink,
                progress: { done, total in Console.progress(label, done: done, total: total) }))
        }
        let engine = LiveEngine(configuration: .init(workers: ProcessInfo.processInfo.activeProcessorCount,
                                                     detector: detector, classifier: classification.options,
                                                     measures: measures),
                                catalog: catalog, log: { Console.info("affect: \($0)") })
        // Sinks run on worker threads: the first failure stops the engine and is rethrown here.
        let failure = FailureSlot()
        func guarded<T>(_ body: @escaping @Sendable (T) throws -> Void) -> @Sendable (T) -> Void {
            { value in
                guard !failure.isSet else { return }
                do { try body(value) } catch {
                    failure.set(error)
                    engine.stop()
                }
            }
        }
        var stream = LiveEngine.Stream(name: input, source: source, policy: options.policy, tracking: options.tracking,
                                       realtime: options.realtime, sink: guarded(sink), momentSink: guarded(momentSink))
        stream.smoothingHalfLifeMilliseconds = options.smoothingHalfLifeMilliseconds
        let report = try engine.run(streams: [stream])
        if let error = failure.error { throw error }
        if let error = engine.captureError(ofStream: 0) { throw error }
        return .live(report)
    }

    static func describe(_ summary: AnalysisSummary) -> String {
        var text = "\(summary.input): \(summary.framesAnalysed) of \(summary.framesRead) frames analysed, "
            + "\(summary.faces) faces, \(String(format: "%.1f", summary.elapsedSeconds)) s, "
            + "\(String(format: "%.1f", summary.analysedFramesPerSecond)) analysed frames/s (\(summary.detector))"
        if let tracks = summary.tracks { text += "\n\(tracks) tracks, \(summary.moments ?? 0) moments" }
        if let triggers = summary.triggers {
            text += "\nadaptive sampling triggers: " + triggers.countsText
        }
        if let dropped = summary.dropped, dropped.values.contains(where: { $0 > 0 }) {
            text += "\ndropped before analysis: " + dropped.filter { $0.value > 0 }.countsText
        }
        if let steps = summary.ladderSteps, steps > 0 { text += "\nload ladder steps: \(steps)" }
        if let latency = summary.latency {
            text += String(format: "\nlatency ms: p50 %.1f, p95 %.1f, p99 %.1f, max %.1f", latency.p50, latency.p95,
                           latency.p99, latency.max)
        }
        if let mean = summary.meanEmotions {
            text += "\nmean expression probabilities: "
                + Emotion.allCases.map { "\($0.rawValue) \(String(format: "%.2f", mean[$0]))" }.joined(separator: ", ")
        }
        return text
    }
}
