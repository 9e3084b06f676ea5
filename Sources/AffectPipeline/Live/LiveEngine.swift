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
/// newer one replaces it (the older frame is dropped and counted); an every-frame
/// stream holds a few (``Configuration/everyFrameBacklog``), so a burst is analysed whole. Workers take
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
        /// Build the landmark stage on every worker, for streams that ask for it (``Stream/measures``).
        public var measures: Bool
        /// Frames an every-frame stream may have waiting (a sampled stream: one, the newest). A burst is
        /// then analysed rather than dropped: a WebRTC track's first frames leave the decoder together
        /// (seven within 4 ms, measured). Frames still wait no longer than `maximumWaitMilliseconds`.
        public var everyFrameBacklog: Int

        public init(workers: Int, detector: DetectorKind = .blazeface, classifier: EmotionClassifier.Options = .init(),
                    ladder: LoadLadder.Configuration = .init(), detectEvery: Int = 3,
                    maximumWaitMilliseconds: Double = 120, starvationMilliseconds: Double = 1000, measures: Bool = false,
                    everyFrameBacklog: Int = 8) {
            self.everyFrameBacklog = max(1, everyFrameBacklog)
            self.workers = workers
            self.detector = detector
            self.classifier = classifier
            self.ladder = ladder
            self.detectEvery = detectEvery
            self.maximumWaitMilliseconds = maximumWaitMilliseconds
            self.starvationMilliseconds = starvationMilliseconds
            self.measures = measures
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
        /// Receives, once, the error that ended the stream's capture (a frame that would not decode, a
        /// stall, shedding), as it happens, so its owner can act at once rather than at its next frame.
        public var errorSink: @Sendable (any Error) -> Void = { _ in }
        /// Half-life of the per-track smoothing, with tracking on.
        public var smoothingHalfLifeMilliseconds: Double = 500
        /// The `stream` label of its Prometheus series; streams sharing a label share the series.
        /// Defaults to `name`. A server with a stream per participant session uses one label for all of
        /// them: series per session would grow without bound and put session ids in `/metrics`.
        public var metricsLabel: String?
        /// Run the landmark stage on this stream's faces (the engine needs ``Configuration/measures``).
        public var measures = false

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
        var record: StreamRecord
        var stamp: FrameStamp
        var image: Image
        var captured: ContinuousClock.Instant
        var stream: Int { record.id }
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

    /// Everything the engine keeps about one stream. Its counters and flags are guarded by the
    /// engine's `condition`; `state` by its own lock; `stream` and `metrics` never change.
    private final class StreamRecord: @unchecked Sendable {
        let id: Int
        let stream: Stream
        let state: StreamState
        let metrics: LiveMetrics.Stream
        var latency = LatencyRecorder()
        var drops: [DropReason: Int] = [:]
        var lastResult: ContinuousClock.Instant?
        var captureError: (any Error)?
        /// Capture has ended (source ended, failed, was shed or the stream was ended).
        var captureEnded = false
        var endRequested = false
        var shed = false
        /// Moments flushed and the stream's work complete.
        var finalized = false
        var finalizing = false

        init(id: Int, stream: Stream, metrics: LiveMetrics.Stream) {
            self.id = id
            self.stream = stream
            self.metrics = metrics
            state = StreamState(policy: stream.policy, tracking: stream.tracking,
                                halfLifeMilliseconds: stream.smoothingHalfLifeMilliseconds)
        }
    }

    public let configuration: Configuration
    private let catalog: ModelCatalog
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var records: [Int: StreamRecord] = [:]
    private var nextID = 0
    private var pending: [Int: Job] = [:]
    /// Every-frame streams' frames waiting behind `pending`, oldest first; a stream has some only while
    /// it has a pending frame (``promote(_:)`` keeps it so).
    private var backlog: [Int: [Job]] = [:]
    private var ready: [Int] = []
    private var busy = Set<Int>()
    private var capturing = 0
    /// Between ``start()`` and ``shutdown()``: workers wait for streams even when none is capturing.
    private var accepting = false
    private var started = false
    private var stopping = false
    private var ladder: LoadLadder
    private var latency = LatencyRecorder()
    private var queueWait = LatencyRecorder()
    private var captureLateness = LatencyRecorder()
    private var drops: [DropReason: Int] = [:]
    private var received = 0, sampled = 0, analysed = 0
    private var changes: [LoadLadder.Change] = []
    private var errors: [String] = []
    private var analysisCPU = 0.0
    private var shed: [Int] = []
    private var startedAt = ContinuousClock.now
    private var processCPUAtStart = 0.0
    private let workerThreads = DispatchGroup()
    private let captureThreads = DispatchGroup()

    /// Counters and latency histograms, ready for a `/metrics` endpoint.
    public let metrics: LiveMetrics

    public init(configuration: Configuration, catalog: ModelCatalog, metrics: LiveMetrics = LiveMetrics(),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.catalog = catalog
        self.metrics = metrics
        self.log = log
        ladder = LoadLadder(configuration: configuration.ladder)
    }

    /// The error that ended a stream's capture, if any (for exit codes).
    public func captureError(ofStream id: Int) -> (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return records[id]?.captureError
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
        let sources = records.values.map(\.stream.source)
        condition.broadcast()
        condition.unlock()
        for source in sources { source.close() }
    }

    /// The sampling rate a stream asks for now (frames per second), so a pushing client can send
    /// just what will be analysed; nil for unknown or every-frame streams.
    public func requestedRate(stream id: Int) -> Double? {
        condition.lock()
        let scale = ladder.step >= .reducedRate ? 0.5 : 1.0
        let record = records[id]
        let elapsed = elapsedMilliseconds()
        condition.unlock()
        guard let record else { return nil }
        record.state.lock.lock()
        defer { record.state.lock.unlock() }
        return record.state.analysis.sampler.rate(at: elapsed).map { $0 * scale }
    }

    // MARK: Streams that come and go

    /// Starts the workers; streams can then be added and ended at any time until ``shutdown()``.
    /// Builds every worker's networks first, so a missing model fails here.
    public func start() throws {
        // The workers are the parallelism; OpenCV's pool inside each call would only compete with them.
        OpenCVRuntime.limitThreadsPerCall(to: 1)
        let analyzers = try (0..<configuration.workers).map { _ in
            try FrameAnalyzer(catalog: catalog, detector: configuration.detector, options: configuration.classifier,
                              measures: configuration.measures)
        }
        condition.lock()
        precondition(!started, "a LiveEngine runs once")
        started = true
        accepting = true
        startedAt = .now
        processCPUAtStart = ThreadCPUClock.processSeconds()
        condition.unlock()
        for analyzer in analyzers {
            workerThreads.enter()
            let worker = WorkerBox(analyzer: analyzer)
            Thread.detachNewThread { [self] in
                work(worker: worker)
                workerThreads.leave()
            }
        }
    }

    /// Adds a stream and starts capturing it; returns its id.
    @discardableResult
    public func add(_ stream: Stream) -> Int {
        condition.lock()
        let id = nextID
        nextID += 1
        let record = StreamRecord(id: id, stream: stream, metrics: metrics.stream(named: stream.metricsLabel ?? stream.name))
        records[id] = record
        capturing += 1
        condition.unlock()
        captureThreads.enter()
        Thread.detachNewThread { [self] in
            capture(record)
            captureThreads.leave()
        }
        return id
    }

    /// Asks a stream to stop: a pushed stream's source is closed, others stop at their next frame.
    public func end(stream id: Int) {
        condition.lock()
        let record = records[id]
        record?.endRequested = true
        condition.unlock()
        record?.stream.source.close()
    }

    /// Waits until a stream's capture has ended and its last frame and moments are out; returns its report.
    public func waitUntilFinished(stream id: Int) -> StreamReport? {
        condition.lock()
        defer { condition.unlock() }
        guard let record = records[id] else { return nil }
        while !record.finalized { condition.wait() }
        return report(of: record)
    }

    /// A running stream's report so far (latency since it started, drops): for a live health view.
    public func currentReport(stream id: Int) -> StreamReport? {
        condition.lock()
        guard let record = records[id] else {
            condition.unlock()
            return nil
        }
        var drops = record.drops
        let latency = record.latency.summary
        condition.unlock()
        let replaced = record.stream.source.dropped
        if replaced > 0 { drops[.pushOverflow] = replaced }
        // The analysis state has its own lock, never taken while `condition` is held.
        record.state.lock.lock()
        defer { record.state.lock.unlock() }
        return StreamReport(name: record.stream.name, latency: latency,
                            dropped: Dictionary(uniqueKeysWithValues: drops.map { ($0.key.rawValue, $0.value) }),
                            tracks: record.state.analysis.tracksStarted, triggers: record.state.analysis.triggerSummary)
    }

    /// Stops every stream, lets the workers finish what they hold, and returns the run's report.
    public func shutdown() -> Report {
        stop()
        captureThreads.wait()
        condition.lock()
        accepting = false
        condition.broadcast()
        condition.unlock()
        workerThreads.wait()
        condition.lock()
        let unfinished = records.values.filter { !$0.finalized && !$0.finalizing }
        for record in unfinished { record.finalizing = true }
        condition.unlock()
        for record in unfinished { finalize(record) }
        return makeReport()
    }

    /// Runs every stream until its source ends or `duration` seconds pass; blocks until all results are out.
    public func run(streams: [Stream], duration: Double? = nil) throws -> Report {
        try start()
        for stream in streams { add(stream) }
        let deadline = duration.map { Date(timeIntervalSinceNow: $0) }
        condition.lock()
        while capturing > 0 && !stopping {
            if let deadline {
                if Date() >= deadline { break }
                _ = condition.wait(until: deadline)
            } else {
                condition.wait()
            }
        }
        condition.unlock()
        return shutdown()
    }

    // MARK: Reports

    /// Call with `condition` held.
    private func report(of record: StreamRecord) -> StreamReport {
        var drops = record.drops
        let replaced = record.stream.source.dropped
        if replaced > 0 { drops[.pushOverflow] = replaced }
        return StreamReport(name: record.stream.name, latency: record.latency.summary,
                            dropped: Dictionary(uniqueKeysWithValues: drops.map { ($0.key.rawValue, $0.value) }),
                            tracks: record.state.analysis.tracksStarted, triggers: record.state.analysis.triggerSummary)
    }

    private func makeReport() -> Report {
        condition.lock()
        defer { condition.unlock() }
        let ordered = records.values.sorted { $0.id < $1.id }
        var totalDrops = drops
        for record in ordered {
            let replaced = record.stream.source.dropped
            guard replaced > 0 else { continue }
            totalDrops[.pushOverflow, default: 0] += replaced
            record.metrics.dropped[.pushOverflow]?.increment(by: Int64(replaced))
        }
        let seconds = startedAt.duration(to: .now).milliseconds / 1000
        return Report(streams: ordered.count, seconds: seconds, framesReceived: received, framesSampled: sampled,
                      framesAnalysed: analysed, analysedFramesPerSecond: seconds > 0 ? Double(analysed) / seconds : 0,
                      latency: latency.summary, queueWait: queueWait.summary,
                      captureLateness: captureLateness.summary,
                      dropped: Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0.rawValue, totalDrops[$0] ?? 0) }),
                      ladderSteps: changes, streamErrors: errors, perStream: ordered.map(report(of:)),
                      processCPUSeconds: ThreadCPUClock.processSeconds() - processCPUAtStart,
                      analysisCPUSeconds: analysisCPU, streamsShed: shed.compactMap { records[$0]?.stream.name })
    }

    // MARK: Capture

    private func capture(_ record: StreamRecord) {
        let stream = record.stream, state = record.state
        defer { captureEnded(record) }
        let source = stream.source
        var pacer = RealtimePacer()
        do {
            while let stamp = try source.advance() {
                var captured = ContinuousClock.now
                condition.lock()
                received += 1
                record.metrics.received.increment()
                let stop = stopping || record.endRequested
                let isShed = record.shed
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
                let job = Job(record: record, stamp: stamp, image: try decoded ?? source.currentImage(), captured: captured)
                offer(job)
            }
        } catch {
            condition.lock()
            errors.append(String(describing: error))
            record.captureError = error
            condition.unlock()
            stream.errorSink(error)
        }
    }

    private func captureEnded(_ record: StreamRecord) {
        condition.lock()
        if record.shed && record.captureError == nil {
            // Shed just as its source ended: it still counts as shed, with the same error.
            let error = StreamShed(stream: record.stream.name, reason: "still overloaded after every load ladder step")
            errors.append(String(describing: error))
            record.captureError = error
        }
        capturing -= 1
        record.captureEnded = true
        let idle = !busy.contains(record.id) && pending[record.id] == nil && !record.finalizing
        if idle { record.finalizing = true }
        condition.broadcast()
        condition.unlock()
        if idle { finalize(record) }
    }

    /// Flushes a stream's open moments once its capture has ended and nothing of it is in flight.
    private func finalize(_ record: StreamRecord) {
        record.state.lock.lock()
        let moments = record.state.analysis.finish()
        record.state.lock.unlock()
        for moment in moments { record.stream.momentSink(moment) }
        condition.lock()
        record.finalized = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a sampled frame without ever waiting: a frame still waiting for the same stream is dropped.
    private func offer(_ job: Job) {
        condition.lock()
        defer { condition.unlock() }
        sampled += 1
        job.record.metrics.sampled.increment()
        if pending[job.stream] != nil, case .everyFrame = job.record.stream.policy, configuration.everyFrameBacklog > 1 {
            var waiting = backlog[job.stream, default: []]
            waiting.append(job)
            if waiting.count > configuration.everyFrameBacklog - 1 {
                // Full: the oldest frame waiting goes.
                pending[job.stream] = waiting.removeFirst()
                countDrop(.superseded, record: job.record)
                recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
            }
            backlog[job.stream] = waiting
        } else if pending.updateValue(job, forKey: job.stream) != nil {
            countDrop(.superseded, record: job.record)
            recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
        } else if !busy.contains(job.stream) {
            ready.append(job.stream)
        }
        // Broadcast, not signal: the run loop waits on the same condition and must not swallow the wake-up.
        condition.broadcast()
    }

    // MARK: Analysis

    // Used only by the worker thread it was made for (`cheaper` is set there too).
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
            let record = job.record, state = record.state
            let step = currentStep
            do {
                let analyzer = try analyzer(for: step, worker: worker)
                state.lock.lock()
                let reuse = step >= .trackBetweenDetections && state.sinceDetection < configuration.detectEvery - 1
                let previous = state.lastCandidates
                state.lock.unlock()
                var faces: [FaceResult]
                if reuse {
                    faces = try analyzer.classify(previous, in: job.image, measures: record.stream.measures)
                } else {
                    faces = try analyzer.analyze(job.image, measures: record.stream.measures)
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
                record.stream.sink(result)
                for moment in closed { record.stream.momentSink(moment) }
            } catch {
                condition.lock()
                errors.append("\(record.stream.name): \(error)")
                condition.unlock()
            }
            if finish(job) { finalize(record) }
        }
    }

    private func analyzer(for step: LoadLadder.Step, worker: WorkerBox) throws -> FrameAnalyzer {
        guard step >= .cheaperDetector, configuration.detector != .blazeface else { return worker.primary }
        if let cheaper = worker.cheaper { return cheaper }
        let cheaper = try FrameAnalyzer(catalog: catalog, detector: .blazeface, options: configuration.classifier,
                                        measures: configuration.measures)
        worker.cheaper = cheaper
        return cheaper
    }

    /// The next waiting frame, round-robin across streams; nil once the engine shuts down and all is analysed.
    /// Frames that waited too long are dropped as stale on the way, unless their stream is starving.
    private func take() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while ready.isEmpty {
                if !accepting && capturing == 0 && pending.isEmpty { return nil }
                condition.wait()
            }
            let stream = ready.removeFirst()
            guard var job = pending.removeValue(forKey: stream) else { continue }
            let now = ContinuousClock.now
            if job.captured.duration(to: now).milliseconds > configuration.maximumWaitMilliseconds,
               let waiting = backlog.removeValue(forKey: stream), let newest = waiting.last {
                // Behind a frame that waited too long, the ones between it and the newest are as late:
                // under load a backlog collapses to its newest frame, as a sampled stream's slot does.
                for _ in waiting.dropLast() + [job] {
                    countDrop(.stale, record: job.record)
                    recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
                }
                job = newest
            } else {
                promote(stream)
            }
            let waited = job.captured.duration(to: now).milliseconds
            let starving = job.record.lastResult.map { $0.duration(to: now).milliseconds > configuration.starvationMilliseconds } ?? true
            if waited > configuration.maximumWaitMilliseconds && !starving {
                countDrop(.stale, record: job.record)
                recordLadder(ladder.observeDrop(at: elapsedMilliseconds()))
                // The next frame of the stream, if one waits, is up now.
                if pending[stream] != nil && !busy.contains(stream) { ready.append(stream) }
                if job.record.captureEnded && !job.record.finalizing && !busy.contains(stream) && pending[stream] == nil {
                    // The ended stream's last frame was dropped, so no worker will finish it: flush its
                    // moments on a thread of their own (sinks must not run under this lock).
                    job.record.finalizing = true
                    let record = job.record
                    Thread.detachNewThread { [self] in finalize(record) }
                }
                continue
            }
            busy.insert(stream)
            queueWait.record(milliseconds: waited)
            return job
        }
    }

    /// Moves a stream's oldest backlogged frame up to `pending` once that is free. Call with `condition` held.
    private func promote(_ stream: Int) {
        guard pending[stream] == nil, var waiting = backlog[stream], !waiting.isEmpty else { return }
        pending[stream] = waiting.removeFirst()
        backlog[stream] = waiting.isEmpty ? nil : waiting
    }

    /// Records a finished frame; returns true when this was the stream's last work and it should be finalized.
    private func finish(_ job: Job) -> Bool {
        let latencyMilliseconds = job.captured.duration(to: .now).milliseconds
        condition.lock()
        defer { condition.unlock() }
        let record = job.record
        analysed += 1
        latency.record(milliseconds: latencyMilliseconds)
        record.latency.record(milliseconds: latencyMilliseconds)
        record.metrics.analysed.increment()
        record.metrics.latency.recordNanoseconds(Int64(latencyMilliseconds * 1_000_000))
        recordLadder(ladder.observe(latencyMilliseconds: latencyMilliseconds, at: elapsedMilliseconds()))
        busy.remove(job.stream)
        record.lastResult = .now
        if pending[job.stream] != nil { ready.append(job.stream) }
        condition.broadcast()
        guard record.captureEnded, pending[job.stream] == nil, !record.finalizing else { return false }
        record.finalizing = true
        return true
    }

    /// Call with `condition` held.
    private func countDrop(_ reason: DropReason, record: StreamRecord) {
        drops[reason, default: 0] += 1
        record.drops[reason, default: 0] += 1
        record.metrics.dropped[reason]?.increment()
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
        let live = records.values.filter { !$0.captureEnded && !$0.shed && !$0.endRequested }
        guard ladder.shouldShedStream(at: now), live.count > 1, let victim = live.max(by: { $0.id < $1.id }) else { return }
        victim.shed = true
        shed.append(victim.id)
        ladder.streamShed(at: now)
        metrics.streamShed()
        log("load ladder: shedding stream \(victim.stream.name): still overloaded at \(ladder.step.name)")
    }

    private func elapsedMilliseconds() -> Double {
        startedAt.duration(to: .now).milliseconds
    }
}
