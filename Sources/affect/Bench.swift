import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed: analyse every frame and report per-stage times and frames per second.",
        discussion: """
        Every frame of INPUT is decoded, searched for faces and classified. With \
        --threads 1 all three stages run one after another on one core; with N > 1 one \
        thread decodes and N workers (each with its own networks, OpenCV single-threaded) \
        analyse in parallel. Stage times are medians per frame, in milliseconds; \
        fps is end to end (frames / wall time).

        JSON keys: fps, decode_ms, detect_ms, classify_ms, measure_ms (with --measures: the \
        landmark stage per frame), frames, faces, threads, detector.

        With --streams N it runs N concurrent live streams for --duration seconds \
        through the live engine instead: by default each stream decodes INPUT in real \
        time (looping), as an RTSP camera would; with --push the clip's frames are \
        JPEG-encoded once in memory and each stream pushes JPEGs at the rate its \
        sampler asks, as the browser capture page does. It reports sustained analysed \
        frames per second, capture-to-result latency, drops by reason and load-ladder \
        steps. JSON keys: streams, analysed_fps, p50_ms, p95_ms, p99_ms, max_ms, \
        dropped, ladder_steps, frames_received, frames_analysed, seconds, mode.

        With --streams N --websocket a study server runs on 127.0.0.1 (a throwaway \
        SQLite store, removed afterwards) and N consented participant pages connect to \
        it and send the clip's JPEGs over WebSockets at the rate it asks, reading back \
        each stored result, as `affect serve` runs a study. JSON keys: clients, \
        frames_sent, frames_answered, analysed_fps, end_to_end and engine (p50_ms, \
        p95_ms, p99_ms, max_ms: send to stored result back, and arrival to result), \
        dropped, ladder_steps, asked_fps, closes, capture_core_share, \
        analysis_core_share, analysis, server_cpu_seconds, \
        server_cpu_ms_per_participant_second. With --device the study analyses in the \
        pages' browsers and they send results, not frames. With --webrtc the pages send \
        their camera as a WebRTC track (the clip encoded once to VP8, sent by GStreamer \
        in this process: measure the server's CPU from outside with --target).
        """
    )

    @Argument(help: "A video file (or any input analyze accepts).")
    var input: String

    @Option(help: "Parallel analysis workers (default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Face detector: centerface or blazeface.")
    var detector: DetectorKind = .blazeface

    @Option(help: "Output format: json or text.")
    var format: TextOrJSON = .text

    @Flag(help: "Also run the landmark stage (head pose, gaze, eyes, attention) on every face and time it.")
    var measures = false

    @OptionGroup(title: "Classification")
    var classification: ClassifierOptions

    @Option(help: "Run this many concurrent live streams (live benchmark).")
    var streams: Int?

    @Option(help: "Live benchmark: sampling policy per stream (fixed, adaptive, every-frame).")
    var policy: PolicyName = .adaptive

    @Option(help: "Live benchmark: base analysed frames per second per stream.")
    var fps: Double = 2

    @Option(help: "Live benchmark: adaptive maximum frames per second per stream.")
    var maxFps: Double = 10

    @Flag(help: "Live benchmark: streams push pre-encoded JPEGs instead of decoding video.")
    var push = false

    @Flag(help: "Live benchmark: the streams are participant pages on WebSockets to a local study server.")
    var websocket = false

    @Flag(help: ArgumentHelp("With --websocket: the study analyses in participants' browsers; pages send results (the clip's, analysed once beforehand) instead of frames.",
                             discussion: "Reports the server's CPU per participant (server_cpu_ms_per_participant_second) to set against the same run without --device."))
    var device = false

    @Option(help: "With --device: frames per second each page analyses and reports (1 to 30).")
    var deviceFps: Double = 30

    @Flag(help: "With --websocket: pages send their camera as a WebRTC track (VP8) instead of JPEGs; the study asks for it.")
    var webrtc = false

    @Option(help: "With --webrtc: frames per second each page's track carries (1 to 30).")
    var captureFps: Double = 15

    @Flag(help: "With --webrtc: the study analyses every frame the tracks carry.")
    var everyFrame = false

    @Option(help: ArgumentHelp("With --websocket: the study server's store is this PostgreSQL database (a study is added to it) instead of a throwaway SQLite file.",
                               valueName: "postgres-url"))
    var storeDb: String?

    @Option(help: ArgumentHelp("With --websocket and --store-db: the pages go to this running server or balancer (a cluster's, e.g. `make cluster`) instead of one started here; the study is added to --store-db, which must be that server's database.",
                               valueName: "url"))
    var target: String?

    @Option(help: "Live benchmark: seconds to run.")
    var duration: Double = 30

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
        if let streams, !(1...2000).contains(streams) { throw ValidationError("--streams must be between 1 and 2000") }
        if (push || websocket) && streams == nil { throw ValidationError("--push and --websocket need --streams N") }
        if push && websocket { throw ValidationError("choose one of --push and --websocket") }
        if storeDb != nil && !websocket { throw ValidationError("--store-db applies to --websocket") }
        if device && !websocket { throw ValidationError("--device applies to --websocket") }
        if !(deviceFps >= 1 && deviceFps <= 30) { throw ValidationError("--device-fps must be 1 to 30") }
        if webrtc && (!websocket || device) { throw ValidationError("--webrtc applies to --websocket without --device") }
        if everyFrame && !webrtc { throw ValidationError("--every-frame applies to --webrtc") }
        if !(captureFps >= 1 && captureFps <= 30) { throw ValidationError("--capture-fps must be 1 to 30") }
        if let target {
            if storeDb == nil { throw ValidationError("--target needs --store-db: the target server's database, where the study is added") }
            if !(target.hasPrefix("http://") && URL(string: target)?.host != nil) {
                throw ValidationError("--target must be an http:// URL, e.g. http://127.0.0.1:8080")
            }
        }
        guard duration > 0, fps > 0, maxFps >= fps else {
            throw ValidationError("--duration and --fps must be positive and --max-fps at least --fps")
        }
    }

    struct Report: Codable {
        var fps: Double
        var decodeMilliseconds: Double
        var detectMilliseconds: Double
        var classifyMilliseconds: Double
        var measureMilliseconds: Double?
        var frames: Int
        var faces: Int
        var threads: Int
        var detector: String
        var input: String

        enum CodingKeys: String, CodingKey {
            case fps, frames, faces, threads, detector, input
            case decodeMilliseconds = "decode_ms"
            case detectMilliseconds = "detect_ms"
            case classifyMilliseconds = "classify_ms"
            case measureMilliseconds = "measure_ms"
        }
    }

    func run() throws {
        if let streams, websocket {
            try runCapture(streams)
            return
        }
        if let streams {
            try runStreams(streams)
            return
        }
        try CommandFailure.reporting {
            let catalog = try ModelCatalog(directory: models)
            let source = try VideoInput(parsing: input).open()
            // Each worker gets one core; OpenCV's own pool would otherwise compete with the workers.
            OpenCVRuntime.limitThreadsPerCall(to: 1)
            let timings = StageTimings()
            let start = ContinuousClock.now
            if threads == 1 {
                let analyzer = try FrameAnalyzer(catalog: catalog, detector: detector, options: classification.options,
                                                 measures: measures)
                while true {
                    let (image, decode) = try timed { try Self.nextImage(of: source) }
                    guard let image else { break }
                    let faces = try analyzer.analyze(image)
                    timings.record(decode: decode, detect: analyzer.lastDetectMilliseconds,
                                   classify: analyzer.lastClassifyMilliseconds,
                                   measure: measures ? analyzer.lastMeasureMilliseconds : nil, faces: faces.count)
                    Console.progress("bench", done: timings.frames, total: source.declaredFrameCount)
                }
            } else {
                try runParallel(source: source, catalog: catalog, timings: timings)
            }
            let wall = start.duration(to: .now).milliseconds / 1000
            Console.clearProgress()
            guard timings.frames > 0 else { throw VisionError.inputUnreadable(path: input, reason: "no frames") }
            let report = timings.report(wall: wall, threads: threads, detector: detector.rawValue, input: input)
            switch format {
            case .json:
                try JSONOutput.print(report)
            case .text:
                print(String(format: "%@: %d frames, %d faces, %d thread(s), %@\n"
                             + "decode %.2f ms  detect %.2f ms  classify %.2f ms%@ (medians per frame)\n"
                             + "end to end %.1f frames/s", input as NSString, report.frames, report.faces,
                             report.threads, report.detector as NSString, report.decodeMilliseconds,
                             report.detectMilliseconds, report.classifyMilliseconds,
                             (report.measureMilliseconds.map { String(format: "  measure %.2f ms", $0) } ?? "") as NSString,
                             report.fps))
            }
        }
    }

    private func runStreams(_ count: Int) throws {
        try CommandFailure.reporting {
            let catalog = try ModelCatalog(directory: models)
            OpenCVRuntime.limitThreadsPerCall(to: 1)
            let benchmark = StreamBenchmark(input: input, streams: count, workers: threads, detector: detector,
                                            policy: policy.policy(fps: fps, maxFps: maxFps), push: push, duration: duration, catalog: catalog)
            let report = try benchmark.run()
            switch format {
            case .json:
                try JSONOutput.print(report)
            case .text:
                print(String(format: "%d %@ streams, %d workers, %.0f s: %.1f analysed frames/s\n"
                             + "latency ms p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n"
                             + "dropped %@; ladder steps %d\n"
                             + "cores busy: capture and decoding %.0f%%, analysis %.0f%%; streams shed %d", count,
                             report.mode as NSString,
                             threads, report.seconds, report.analysedFPS, report.p50, report.p95, report.p99, report.max,
                             report.dropped.countsText as NSString, report.ladderSteps.count,
                             100 * report.captureCoreShare, 100 * report.analysisCoreShare, report.streamsShed.count))
            }
        }
    }

    private func runCapture(_ count: Int) throws {
        try CommandFailure.reporting {
            let benchmark = CaptureBenchmark(input: input, clients: count, workers: threads, detector: detector,
                                             duration: duration, policy: policy.policy(fps: fps, maxFps: maxFps),
                                             catalog: try ModelCatalog(directory: models),
                                             store: try storeDb.map(DatabaseLocation.init(parsing:)), target: target,
                                             device: device, deviceFPS: deviceFps, webRTC: webrtc, captureFPS: captureFps,
                                             everyFrame: everyFrame)
            OpenCVRuntime.limitThreadsPerCall(to: 1)
            let report = try Blocking.run { try await benchmark.run() }
            switch format {
            case .json:
                try JSONOutput.print(report)
            case .text:
                func latency(_ summary: LatencySummary?) -> String {
                    guard let summary else { return "none" }
                    return String(format: "p50 %.1f  p95 %.1f  p99 %.1f  max %.1f", summary.p50, summary.p95, summary.p99, summary.max)
                }
                print(String(format: "%d WebSocket participants, %d workers, %.0f s: %d frames sent, %d results back, "
                             + "%.1f analysed frames/s (asked %.1f per participant at the end)", count, threads,
                             report.seconds, report.framesSent, report.framesAnswered, report.analysedFPS, report.askedFPS))
                print("end to end ms (send to stored result back) " + latency(report.endToEnd))
                print("engine ms (arrival to result) " + latency(report.engine))
                print(String(format: "dropped %@; ladder steps %d; cores busy: capture, server and decoding %.0f%%, analysis %.0f%%",
                             report.dropped.countsText as NSString, report.ladderSteps,
                             100 * report.captureCoreShare, 100 * report.analysisCoreShare))
                print(String(format: "server CPU (%@ analysis): %.2f s, %.1f ms per participant-second",
                             report.analysis as NSString, report.serverCPUSeconds, report.serverCPUMillisecondsPerParticipantSecond))
                print("closes: " + report.closes.countsText)
            }
        }
    }

    /// Reads and decodes the next frame; nil at the end.
    static func nextImage(of source: any FrameSource) throws -> Image? {
        guard try source.advance() != nil else { return nil }
        return try source.currentImage()
    }

    /// One decoding thread feeds a bounded queue; `threads` workers analyse from it.
    private func runParallel(source: any FrameSource, catalog: ModelCatalog, timings: StageTimings) throws {
        let queue = BoundedQueue<Image>(capacity: threads * 2)
        let failures = FailureSlot()
        let group = DispatchGroup()
        let kind = detector, measuring = measures, options = classification.options
        for _ in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let analyzer = try FrameAnalyzer(catalog: catalog, detector: kind, options: options, measures: measuring)
                    while let image = queue.pop() {
                        let faces = try analyzer.analyze(image)
                        timings.record(decode: nil, detect: analyzer.lastDetectMilliseconds,
                                       classify: analyzer.lastClassifyMilliseconds,
                                       measure: measuring ? analyzer.lastMeasureMilliseconds : nil, faces: faces.count)
                    }
                } catch {
                    failures.set(error)
                    queue.close()
                }
            }
        }
        do {
            while failures.error == nil {
                let (image, decode) = try timed { try Self.nextImage(of: source) }
                guard let image else { break }
                timings.record(decode: decode)
                guard queue.push(image) else { break }
                Console.progress("bench", done: timings.frames, total: source.declaredFrameCount)
            }
        } catch {
            failures.set(error)
        }
        queue.close()
        group.wait()
        if let failure = failures.error { throw failure }
    }
}

/// Per-frame stage times collected from several threads.
// Every array is read and written under `lock`.
final class StageTimings: @unchecked Sendable {
    private let lock = NSLock()
    private var decode: [Double] = []
    private var detect: [Double] = []
    private var classify: [Double] = []
    private var measure: [Double] = []
    private var faceCount = 0

    var frames: Int { lock.withLock { detect.count } }

    func record(decode milliseconds: Double) {
        lock.withLock { decode.append(milliseconds) }
    }

    func record(decode: Double?, detect: Double, classify: Double, measure: Double? = nil, faces: Int) {
        lock.withLock {
            if let decode { self.decode.append(decode) }
            if let measure { self.measure.append(measure) }
            self.detect.append(detect)
            self.classify.append(classify)
            faceCount += faces
        }
    }

    func report(wall: Double, threads: Int, detector: String, input: String) -> Bench.Report {
        lock.withLock {
            Bench.Report(fps: wall > 0 ? Double(detect.count) / wall : 0,
                         decodeMilliseconds: Quantiles.median(decode) ?? 0,
                         detectMilliseconds: Quantiles.median(detect) ?? 0,
                         classifyMilliseconds: Quantiles.median(classify) ?? 0,
                         measureMilliseconds: Quantiles.median(measure),
                         frames: detect.count, faces: faceCount, threads: threads, detector: detector, input: input)
        }
    }
}

/// A blocking FIFO with a fixed capacity: `push` waits while full, `pop` while empty.
// `items` and `closed` are guarded by `condition`, which `push` and `pop` also wait on.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds an item, waiting for room; false once the queue is closed.
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Takes the oldest item, waiting for one; nil once closed and drained.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
