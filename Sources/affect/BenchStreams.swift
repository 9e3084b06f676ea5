import AffectCore
import AffectPipeline
import AffectVision
import Foundation
import Synchronization

/// `affect bench --streams N`: many paced live streams through one ``LiveEngine``.
struct StreamBenchmark {
    var input: String
    var streams: Int
    var workers: Int
    var detector: DetectorKind
    var policy: SamplingPolicy
    var push: Bool
    var duration: Double
    var catalog: ModelCatalog

    struct Report: Codable {
        var streams: Int
        var analysedFPS: Double
        var p50: Double
        var p95: Double
        var p99: Double
        var max: Double
        var dropped: [String: Int]
        var ladderSteps: [LoadLadder.Change]
        var framesReceived: Int
        var framesAnalysed: Int
        var seconds: Double
        var mode: String
        var detector: String
        var workers: Int
        var streamErrors: [String]
        /// Shares of the machine's cores spent capturing and decoding, and analysing.
        var captureCoreShare: Double
        var analysisCoreShare: Double
        /// p99 of the time analysed frames waited for a worker (the rest of the latency is analysis).
        var queueWaitP99: Double
        /// p99 of how late decoded streams read their frames against real time (0 for pushed streams).
        var captureLatenessP99: Double
        /// Streams the engine stopped as its last resort.
        var streamsShed: [String]

        enum CodingKeys: String, CodingKey {
            case streams, dropped, seconds, mode, detector, workers
            case analysedFPS = "analysed_fps"
            case p50 = "p50_ms", p95 = "p95_ms", p99 = "p99_ms", max = "max_ms"
            case ladderSteps = "ladder_steps"
            case framesReceived = "frames_received"
            case framesAnalysed = "frames_analysed"
            case streamErrors = "stream_errors"
            case captureCoreShare = "capture_core_share"
            case analysisCoreShare = "analysis_core_share"
            case queueWaitP99 = "queue_wait_p99_ms"
            case captureLatenessP99 = "capture_lateness_p99_ms"
            case streamsShed = "streams_shed"
        }
    }

    func run() throws -> Report {
        let engine = LiveEngine(configuration: .init(workers: workers, detector: detector), catalog: catalog,
                                log: { Console.info("affect: \($0)") })
        var definitions: [LiveEngine.Stream] = []
        var pushers: [Pusher] = []
        if push {
            let frames = try Self.encodedFrames(of: input)
            // Decoded at full size, as the study server decodes participants' frames: half-size decoding
            // saves about 0.4 ms a frame but changes the top expression on 11% of frames (docs/benchmarks.md).
            for index in 0..<streams {
                let source = PushFrameSource(name: "push-\(index)")
                definitions.append(.init(name: source.name, source: source, policy: policy))
                pushers.append(Pusher(source: source, frames: frames, stream: index, engine: engine,
                                      offset: index % max(1, frames.count)))
            }
        } else {
            // Streams open their clip on their own capture threads; open it once here so a bad input fails at once.
            _ = try VideoInput(parsing: input).open()
            for index in 0..<streams {
                let path = input
                // Streams start spread over the first second, as cameras would, like the pushers below.
                let source = LoopingFrameSource(name: "stream-\(index)", startDelaySeconds: Double(index % 100) / 100) {
                    try VideoInput(parsing: path).open()
                }
                definitions.append(.init(name: source.name, source: source, policy: policy, realtime: true))
            }
        }
        let stop = StopFlag()
        for pusher in pushers { Thread.detachNewThread { pusher.run(until: stop) } }
        let report = try engine.run(streams: definitions, duration: duration)
        stop.set()
        let latency = report.latency
        return Report(streams: streams, analysedFPS: report.analysedFramesPerSecond, p50: latency?.p50 ?? 0,
                      p95: latency?.p95 ?? 0, p99: latency?.p99 ?? 0, max: latency?.max ?? 0, dropped: report.dropped,
                      ladderSteps: report.ladderSteps, framesReceived: report.framesReceived,
                      framesAnalysed: report.framesAnalysed, seconds: report.seconds, mode: push ? "push" : "decode",
                      detector: detector.rawValue, workers: workers, streamErrors: report.streamErrors,
                      captureCoreShare: report.captureCoreShare, analysisCoreShare: report.analysisCoreShare,
                      queueWaitP99: report.queueWait?.p99 ?? 0, captureLatenessP99: report.captureLateness?.p99 ?? 0,
                      streamsShed: report.streamsShed)
    }

    /// Every frame of the clip (up to 250) as JPEG, encoded once in memory.
    static func encodedFrames(of input: String) throws -> [Data] {
        let source = try VideoInput(parsing: input).open()
        var frames: [Data] = []
        while try source.advance() != nil, frames.count < 250 {
            frames.append(try source.currentImage().jpegData(quality: 85))
        }
        guard !frames.isEmpty else { throw VisionError.inputUnreadable(path: input, reason: "no frames") }
        return frames
    }
}

/// A thread-safe one-way switch.
final class StopFlag: Sendable {
    private let stopped = Atomic(false)
    var isSet: Bool { stopped.load(ordering: .acquiring) }
    func set() { stopped.store(true, ordering: .releasing) }
}

/// Stands in for a browser: pushes JPEGs at the rate the engine's sampler asks for.
// `next` is touched only by the one thread that runs `run(until:)`.
final class Pusher: @unchecked Sendable {
    let source: PushFrameSource
    let frames: [Data]
    let stream: Int
    let engine: LiveEngine
    var next: Int

    init(source: PushFrameSource, frames: [Data], stream: Int, engine: LiveEngine, offset: Int) {
        self.source = source
        self.frames = frames
        self.stream = stream
        self.engine = engine
        next = offset
    }

    func run(until stop: StopFlag) {
        let start = ContinuousClock.now
        // Streams start spread over the first second, as real participants would.
        Thread.sleep(forTimeInterval: Double(stream % 100) / 100)
        while !stop.isSet {
            // The frames were encoded here as JPEGs under the limit: nothing to refuse.
            try? source.push(frames[next % frames.count], capturedAt: start.duration(to: .now).milliseconds)
            next += 1
            let rate = engine.requestedRate(stream: stream) ?? 2
            Thread.sleep(forTimeInterval: 1 / max(0.5, min(rate, 30)))
        }
        source.close()
    }
}
