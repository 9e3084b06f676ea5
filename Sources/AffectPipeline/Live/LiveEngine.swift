import AffectCore
import AffectVision
import Foundation

/// Why a frame was not analysed.
public enum DropReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// A newer sampled frame of the same stream arrived before this one was analysed.
    case superseded
    /// A pushed frame was replaced before the stream's capture loop took it.
    case pushOverflow = "push-overflow"
    /// The frame waited longer than the engine's maximum wait; analysing it would only add latency.
    case stale
}

/// A stream the engine stopped as its last resort under load.
public struct StreamShed: Error, Sendable, CustomStringConvertible {
    public var stream: String
    public var reason: String
    public var description: String { "\(stream): stream shed under load (\(reason))" }
}

/// Many live streams analysed by a fixed pool of workers.
///
/// Each stream has a capture thread that reads and samples its source and never
/// waits for analysis: a stream holds at most one sampled frame waiting, and a
/// newer one replaces it (the older frame is dropped and counted). Workers take
/// waiting frames round-robin across streams, one frame per stream at a time so
/// results stay in order. A ``LoadLadder`` watches latency and drops and trades
/// quality for throughput before any stream is starved.
public final class LiveEngine: @unchecked Sendable {
    // State is guarded by `condition`; per-stream analysis state by each stream's own lock.

    public struct Configuration: Sendable {
        /// Analysis threads (each owns its networks).
        public var workers: Int
        /// The detector in normal operation.
        public var detector: DetectorKind
        public var classifier: EmotionClassifier.Options
        public var ladder: LoadLadder.Configuration
        /// With ``LoadLadder/Step/trackBetweenDetections``: detect on one analysed frame in this many.
        public var detectEvery: Int
        /// A sampled frame that waited longer than this is dropped as stale, unless its stream has had
        /// no result for `starvationMilliseconds` (so no stream ever goes without results).
        public var maximumWaitMilliseconds: Double
        public var starvationMilliseconds: Double

        public init(workers: Int, detector: DetectorKind = .blazeface, classifier: EmotionClassifier.Options = .init(),
                    ladder: LoadLadder.Configuration = .init(), detectEvery: Int = 3,
                    maximumWaitMilliseconds: Double = 120, starvationMilliseconds: Double = 1000) {
            self.workers = workers
            self.detector = detector
            self.classifier = classifier
            self.ladder = ladder
            self.detectEvery = detectEvery
            self.maximumWaitMilliseconds = maximumWaitMilliseconds
            self.starvationMilliseconds = starvationMilliseconds
        }
    }

    /// One stream to analyse.
    public struct Stream {
        public var name: String
        public var source: any FrameSource
        public var policy: SamplingPolicy
        public var tracking: Bool
        /// Pace a non-live source at its own frame rate.
        public var realtime: Bool
        /// Receives the stream's results in order, on a worker thread.
        public var sink: @Sendable (FrameResult) -> Void
        /// Receives the stream's moments as they close (with tracking on).
        public var momentSink: @Sendable (Moment) -> Void
        /// Half-life of the per-track smoothing, with tracking on.
        public var smoothingHalfLifeMilliseconds: Double = 500

        public init(name: String, source: any FrameSource, policy: SamplingPolicy, tracking: Bool = false,
                    realtime: Bool = false, sink: @escaping @Sendable (FrameResult) -> Void = { _ in },
                    momentSink: @escaping @Sendable (Moment) -> Void = { _ in }) {
            self.name = name
            self.source = source
            self.policy = policy
            self.tracking = tracking
            self.realtime = realtime
            self.sink = sink
            self.momentSink = momentSink
        }
    }

    /// What happened during a run.
    public struct Report: Sendable, Codable {
        public var streams: Int
        public var seconds: Double
        public var framesReceived: Int
        public var framesSampled: Int
        public var framesAnalysed: Int
        public var analysedFramesPerSecond: Double
        public var latency: LatencySummary?
        /// The part of the latency analysed frames spent waiting for a worker.
        public var queueWait: LatencySummary?
        /// For files paced in real time: how late frames were read against their due time (decoding that
        /// cannot keep up; a camera's frames would pile up unseen). Nil for live and unpaced sources.
        public var captureLateness: LatencySummary?
        public var dropped: [String: Int]
        public var ladderSteps: [LoadLadder.Change]
        /// Errors that ended individual streams (the others went on).
        public var streamErrors: [String]
        public var perStream: [StreamReport]
        /// CPU seconds the whole process used during the run, and the part of it the analysis workers used.
        /// The rest is capture: reading, decoding (in FFmpeg's threads too) and sampling.
        public var processCPUSeconds: Double
        public var analysisCPUSeconds: Double
        /// Streams stopped as the last resort, after every ladder step (names, in order).
        public var streamsShed: [String]
        /// Share of the machine's cores spent on capture (everything but analysis).
        public var captureCoreShare: Double { coreShare(max(0, processCPUSeconds - analysisCPUSeconds)) }
        /// Share of the machine's cores spent by the analysis workers.
        public var analysisCoreShare: Double { coreShare(analysisCPUSeconds) }

        private func coreShare(_ cpuSeconds: Double) -> Double {
            guard seconds > 0 else { return 0 }
            return cpuSeconds / seconds / Double(ProcessInfo.processInfo.activeProcessorCount)
        }

        enum CodingKeys: String, CodingKey {
            case streams, seconds, latency, dropped
            case queueWait = "queue_wait"
            case streamsShed = "streams_shed"
            case captureLateness = "capture_lateness"
            case processCPUSeconds = "process_cpu_seconds"
            case analysisCPUSeconds = "analysis_cpu_seconds"
            case framesReceived = "frames_received"
            case framesSampled = "frames_sampled"
            case framesAnalysed = "frames_analysed"
            case analysedFramesPerSecond = "analysed_fps"
            case ladderSteps = "ladder_steps"
            case streamErrors = "stream_errors"
            case perStream = "per_stream"
        }
    }

    /// One stream's latency and drops.
    public struct StreamReport: Sendable, Codable {
        public var name: String
        public var latency: LatencySummary?
        public var dropped: [String: Int]
        /// Tracks started, with tracking on.
        public var tracks: Int?
        /// Adaptive sampling escalations by reason, for adaptive streams.
        public var triggers: [String: Int]?
    }

    private struct Job {
        var stream: Int
        var stamp: FrameStamp
        var image: Image
        var captured: ContinuousClock.Instant
    }

    /// Per-stream analysis state, touched by the capture thread (sampling) and one worker at a time (the rest).
    private final class StreamState: @unchecked Sendable {
        let lock = NSLock()
        var analysis: StreamAnalysis
        var lastCandidates: [FaceCandidate] = []
        var sinceDetection = Int.max

        init(policy: SamplingPolicy, tracking: Bool, halfLifeMilliseconds: Double) {
            analysis = StreamAnalysis(policy: policy,
                                      tracking: tracking ? TrackingStage(halfLifeMilliseconds: halfLifeMilliseconds) : nil)
        }
    }

    public let configuration: Configuration
    private let catalog: ModelCatalog
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var pending: [Int: Job] = [:]
    private var ready: [Int] = []
    private var busy = Set<Int>()
    private var lastResult: [Int: ContinuousClock.Instant] = [:]
    private var capturing = 0
    private var stopping = false
    private var ladder: LoadLadder
    private var latency = LatencyRecorder()
    private var queueWait = LatencyRecorder()
    private var captureLateness = LatencyRecorder()
    private var drops: [DropReason: Int] = [:]
    private var received = 0, sampled = 0, analysed = 0
    private var changes: [LoadLadder.Change] = []
    private var errors: [String] = []
    private var captureErrors: [Int: any Error] = [:]
    private var analysisCPU = 0.0
    private var shed: [Int] = []
    private var capturingStreams = Set<Int>()

    /// The error that ended a stream's capture in the last run, if any (for exit codes).
    public func captureError(ofStream index: Int) -> (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return captureErrors[index]
    }
    private var start = ContinuousClock.now
    // Set before any thread starts and read-only while the run lasts.
    private var streams: [Stream] = []
    private var states: [StreamState] = []

    /// Counters and latency histograms, ready for a `/metrics` endpoint.
    public let metrics: LiveMetrics
    private var streamMetrics: [LiveMetrics.Stream] = []
    private var streamLatency: [LatencyRecorder] = []
    private var streamDrops: [[DropReason: Int]] = []

    public init(configuration: Configuration, catalog: ModelCatalog, metrics: LiveMetrics = LiveMetrics(),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.catalog = catalog
        self.metrics = metrics
        self.log = log
        ladder = LoadLadder(configuration: configuration.ladder)
    }

    /// The ladder step in force now.
    public var currentStep: LoadLadder.Step {
        condition.lock()
        defer { condition.unlock() }
        return ladder.step
    }

    /// Ends the run early: capture stops at each stream's next frame, frames already taken are
    /// analysed, and ``run(streams:duration:)`` returns. Safe from any thread, including a sink.
    public func stop() {
        condition.lock()
        stopping = true
        let pushed = streams.compactMap { $0.source as? PushFrameSource }
        condition.broadcast()
        condition.unlock()
        for source in pushed { source.close() }
    }

    /// The sampling rate a stream asks for now (frames per second), so a pushing client can send
    /// just what will be analysed; nil before the run starts or for every-frame streams.
    public func requestedRate(stream index: Int) -> Double? {
        condition.lock()
        let scale = ladder.step >= .reducedRate ? 0.5 : 1.0
        let ready = index < states.count
        let elapsed = elapsedMilliseconds()
        condition.unlock()
        guard ready else { return nil }
        let state = states[index]
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.analysis.sampler.rate(at: elapsed).map { $0 * scale }
    }

    /// Runs every stream until its source ends or `duration` seconds pass; blocks until all results are out.
    public func run(streams: [Stream], duration: Double? = nil) throws -> Report {
        // The workers are the parallelism; OpenCV's pool inside each call would only compete with them.
        OpenCVRuntime.limitThreadsPerCall(to: 1)
        // Build one analyzer per worker up front, so a missing model fails the run at once.
        let analyzers = try (0..<configuration.workers).map { _ in
            try FrameAnalyzer(catalog: catalog, detector: configuration.detector, options: configuration.classifier)
        }
        condition.lock()
        self.streams = streams
        states = streams.map {
            StreamState(policy: $0.policy, tracking: $0.tracking, halfLifeMilliseconds: $0.smoothingHalfLifeMilliseconds)
        }
        streamMetrics = streams.map { metrics.stream(named: $0.name) }
        streamLatency = streams.map { _ in LatencyRecorder() }
        streamDrops = streams.map { _ in [:] }
        captureErrors = [:]
        analysisCPU = 0
        let processCPUAtStart = ThreadCPUClock.processSeconds()
        start = .now
        capturing = streams.count
        capturingStreams = Set(streams.indices)
        shed = []
        condition.unlock()
        let group = DispatchGroup()
        for analyzer in analyzers {
            group.enter()
            let worker = WorkerBox(analyzer: analyzer)
            Thread.detachNewThread { [self] in
                work(worker: worker)
                group.leave()
            }
        }
        for index in streams.indices {
            group.enter()
            Thread.detachNewThread { [self] in
                capture(index: index)
                group.leave()
            }
        }
        if let duration {
            let deadline = Date(timeIntervalSinceNow: duration)
            condition.lock()
            while capturing > 0 && Date() < deadline { _ = condition.wait(until: deadline) }
            stopping = true
            condition.broadcast()
            condition.unlock()
            for stream in streams { (stream.source as? PushFrameSource)?.close() }
        }
        group.wait()
        for (index, state) in states.enumerated() {
            for moment in state.analysis.finish() { streams[index].momentSink(moment) }
        }
        let seconds = start.duration(to: .now).milliseconds / 1000
        for (index, stream) in streams.enumerated() {
            guard let push = stream.source as? PushFrameSource, push.dropped > 0 else { continue }
            drops[.pushOverflow, default: 0] += push.dropped
            streamDrops[index][.pushOverflow, default: 0] += push.dropped
            streamMetrics[index].dropped[.pushOverflow]?.increment(by: Int64(push.dropped))
        }
        let perStream = streams.indices.map { index in
            StreamReport(name: streams[index].name, latency: streamLatency[index].summary,
                         dropped: Dictionary(uniqueKeysWithValues: streamDrops[index].map { ($0.key.rawValue, $0.value) }),
                         tracks: states[index].analysis.tracksStarted, triggers: states[index].analysis.triggerSummary)
        }
        condition.lock()
        let shedNames = shed.map { streams[$0].name }
        self.streams = []
        states = []
        condition.unlock()
        return Report(streams: streams.count, seconds: seconds, framesReceived: received, framesSampled: sampled,
                      framesAnalysed: analysed, analysedFramesPerSecond: seconds > 0 ? Double(analysed) / seconds : 0,
                      latency: latency.summary, queueWait: queueWait.summary,
                      captureLateness: captureLateness.summary,
                      dropped: Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0.rawValue, drops[$0] ?? 0) }),
                      ladderSteps: changes, streamErrors: errors, perStream: perStream,
                      processCPUSeconds: ThreadCPUClock.processSeconds() - processCPUAtStart,
                      analysisCPUSeconds: analysisCPU, streamsShed: shedNames)
    }

    // MARK: Capture

    private func capture(index: Int) {
        let stream = streams[index], state = states[index]
        defer {
            condition.lock()
            capturing -= 1
            capturingStreams.remove(index)
            condition.broadcast()
            condition.unlock()
        }
        let source = stream.source
        var pacer = RealtimePacer()
        do {
            while let stamp = try source.advance() {
                var captured = ContinuousClock.now
                condition.lock()
                received += 1
                streamMetrics[index].received.increment()
                let stop = stopping
                let isShed = shed.contains(index)
                let scale = ladder.step >= .reducedRate ? 0.5 : 1.0
                // Motion probes convert every unsampled frame; under load that CPU goes to analysis instead.
                let probeMotion = ladder.step == .normal
                condition.unlock()
                if stop { break }
                if isShed {
                    throw StreamShed(stream: stream.name, reason: "still overloaded after every load ladder step")
                }
                if stream.realtime && !source.isLive {
                    captured = pacer.wait(until: stamp.timeMilliseconds)
                    condition.lock()
                    captureLateness.record(milliseconds: pacer.lastLatenessMilliseconds)
                    condition.unlock()
                }
                state.lock.lock()
                state.analysis.rateScale = scale
                let decision = Result {
                    try state.analysis.sample(at: stamp.timeMilliseconds, probeMotion: probeMotion) { try source.currentImage() }
                }
                state.lock.unlock()
                let (sample, decoded) = try decision.get()
                guard sample else { continue }
                let job = Job(stream: index, stamp: stamp, image: try decoded ?? source.currentImage(), captured: captured)
                offer(job)
            }
        } catch {
            condition.lock()
            errors.append(String(describing: error))
            captureErrors[index] = error
            condition.unlock()
        }
    }

    /// Queues a sampled frame without ever waiting: a frame still waiting for the same stream is dropped.
    private func offer(_ job: Job) {
        condition.lock()
        defer { condition.unlock() }
        sampled += 1
        streamMetrics[job.stream].sampled.increment()
        if pending.updateValue(job, forKey: job.stream) != nil {
            countDrop(.superseded, stream: job.stream)
            recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
        } else if !busy.contains(job.stream) {
            ready.append(job.stream)
        }
        // Broadcast, not signal: the run loop waits on the same condition and must not swallow the wake-up.
        condition.broadcast()
    }

    // MARK: Analysis

    private final class WorkerBox: @unchecked Sendable {
        let primary: FrameAnalyzer
        var cheaper: FrameAnalyzer?
        init(analyzer: FrameAnalyzer) { primary = analyzer }
    }

    private func work(worker: WorkerBox) {
        defer {
            let cpu = ThreadCPUClock.seconds()
            condition.lock()
            analysisCPU += cpu
            condition.unlock()
        }
        while let job = take() {
            let state = states[job.stream]
            let step = currentStep
            do {
                let analyzer = try analyzer(for: step, worker: worker)
                state.lock.lock()
                let reuse = step >= .trackBetweenDetections && state.sinceDetection < configuration.detectEvery - 1
                let previous = state.lastCandidates
                state.lock.unlock()
                var faces: [FaceResult]
                if reuse {
                    faces = try analyzer.classify(previous, in: job.image)
                } else {
                    faces = try analyzer.analyze(job.image)
                }
                var result = FrameResult(frame: job.stamp.index, timeMilliseconds: job.stamp.timeMilliseconds, faces: faces)
                state.lock.lock()
                if reuse {
                    state.sinceDetection += 1
                } else {
                    state.sinceDetection = 0
                    state.lastCandidates = faces.map { FaceCandidate(box: $0.box, score: $0.score, landmarks: $0.landmarks) }
                }
                let closed: [Moment]
                (result, closed) = state.analysis.complete(result, image: job.image)
                state.lock.unlock()
                streams[job.stream].sink(result)
                for moment in closed { streams[job.stream].momentSink(moment) }
            } catch {
                condition.lock()
                errors.append("\(streams[job.stream].name): \(error)")
                condition.unlock()
            }
            finish(job)
        }
    }

    private func analyzer(for step: LoadLadder.Step, worker: WorkerBox) throws -> FrameAnalyzer {
        guard step >= .cheaperDetector, configuration.detector != .blazeface else { return worker.primary }
        if let cheaper = worker.cheaper { return cheaper }
        let cheaper = try FrameAnalyzer(catalog: catalog, detector: .blazeface, options: configuration.classifier)
        worker.cheaper = cheaper
        return cheaper
    }

    /// The next waiting frame, round-robin across streams; nil once capture has ended and all is analysed.
    /// Frames that waited too long are dropped as stale on the way, unless their stream is starving.
    private func take() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while ready.isEmpty {
                if capturing == 0 && pending.isEmpty { return nil }
                condition.wait()
            }
            let stream = ready.removeFirst()
            guard let job = pending.removeValue(forKey: stream) else { continue }
            let now = ContinuousClock.now
            let waited = job.captured.duration(to: now).milliseconds
            let starving = lastResult[stream].map { $0.duration(to: now).milliseconds > configuration.starvationMilliseconds } ?? true
            if waited > configuration.maximumWaitMilliseconds && !starving {
                countDrop(.stale, stream: stream)
                recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
                continue
            }
            busy.insert(stream)
            queueWait.record(milliseconds: waited)
            return job
        }
    }

    private func finish(_ job: Job) {
        let latencyMilliseconds = job.captured.duration(to: .now).milliseconds
        condition.lock()
        defer { condition.unlock() }
        analysed += 1
        latency.record(milliseconds: latencyMilliseconds)
        streamLatency[job.stream].record(milliseconds: latencyMilliseconds)
        streamMetrics[job.stream].analysed.increment()
        streamMetrics[job.stream].latency.recordNanoseconds(Int64(latencyMilliseconds * 1_000_000))
        recordLadder(ladder.observe(latencyMilliseconds: latencyMilliseconds, at: elapsedMilliseconds()))
        busy.remove(job.stream)
        lastResult[job.stream] = .now
        if pending[job.stream] != nil { ready.append(job.stream) }
        condition.broadcast()
    }

    /// Call with `condition` held.
    private func countDrop(_ reason: DropReason, stream: Int) {
        drops[reason, default: 0] += 1
        streamDrops[stream][reason, default: 0] += 1
        streamMetrics[stream].dropped[reason]?.increment()
    }

    /// Call with `condition` held.
    private func recordLadder(_ change: LoadLadder.Change?) {
        shedIfExhausted()
        guard let change else { return }
        metrics.ladderChanged(to: change.to)
        changes.append(change)
        log("load ladder: \(change.from.name) -> \(change.to.name) (\(change.reason))")
    }

    /// The last resort, after every ladder step: stop the most recently started stream still capturing,
    /// never the last one. Call with `condition` held.
    private func shedIfExhausted() {
        let now = elapsedMilliseconds()
        guard ladder.shouldShedStream(at: now), capturingStreams.count > 1,
              let victim = capturingStreams.subtracting(shed).max() else { return }
        shed.append(victim)
        ladder.streamShed(at: now)
        metrics.streamShed()
        log("load ladder: shedding stream \(streams[victim].name): still overloaded at \(ladder.step.name)")
    }

    private func elapsedMilliseconds() -> Double {
        start.duration(to: .now).milliseconds
    }
}
