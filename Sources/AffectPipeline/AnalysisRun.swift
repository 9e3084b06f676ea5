import AffectCore
import AffectVision
import Foundation

/// Totals for one run over a source.
public struct AnalysisSummary: Sendable, Codable, Hashable {
    public var input: String
    public var framesRead: Int
    public var framesAnalysed: Int
    /// Faces summed over analysed frames.
    public var faces: Int
    /// Analysed frames with exactly one face.
    public var framesWithOneFace: Int
    /// Mean expression distribution over every face of every analysed frame; nil when no face was found.
    public var meanEmotions: EmotionDistribution?
    public var elapsedSeconds: Double
    /// Analysed frames per second of wall time.
    public var analysedFramesPerSecond: Double
    public var detector: String
    /// Tracks started (with tracking on).
    public var tracks: Int?
    /// Moments found (with tracking on).
    public var moments: Int?
    /// Adaptive sampling escalations by reason.
    public var triggers: [String: Int]?
    /// Capture-to-result latency of analysed frames.
    public var latency: LatencySummary?
    /// Sampled frames dropped before analysis, by reason (live engine only).
    public var dropped: [String: Int]?
    /// Load-ladder step changes (live engine only).
    public var ladderSteps: Int?
    /// Frames read but not decodable (damaged data, an oversized frame in a stream); they were skipped.
    public var framesSkipped: Int?
    /// Frames the file declares that could not be read at all (cut short, or damaged past a point).
    public var framesMissing: Int?

    /// One line saying what could not be analysed, or nil when everything could.
    public var damageText: String? {
        let skipped = framesSkipped ?? 0, missing = framesMissing ?? 0
        guard skipped + missing > 0 else { return nil }
        var parts: [String] = []
        if missing > 0 { parts.append("\(missing) of \(framesRead + missing) declared frames could not be read (damaged or cut short)") }
        if skipped > 0 { parts.append("\(skipped) damaged frame\(skipped == 1 ? " was" : "s were") skipped") }
        return "\(input): " + parts.joined(separator: "; ") + "; the readable frames were analysed"
    }

    public init(input: String, framesRead: Int, framesAnalysed: Int, faces: Int, framesWithOneFace: Int,
                meanEmotions: EmotionDistribution?, elapsedSeconds: Double, analysedFramesPerSecond: Double,
                detector: String, tracks: Int? = nil, moments: Int? = nil, triggers: [String: Int]? = nil,
                latency: LatencySummary? = nil, dropped: [String: Int]? = nil, ladderSteps: Int? = nil) {
        self.input = input
        self.framesRead = framesRead
        self.framesAnalysed = framesAnalysed
        self.faces = faces
        self.framesWithOneFace = framesWithOneFace
        self.meanEmotions = meanEmotions
        self.elapsedSeconds = elapsedSeconds
        self.analysedFramesPerSecond = analysedFramesPerSecond
        self.detector = detector
        self.tracks = tracks
        self.moments = moments
        self.triggers = triggers
        self.latency = latency
        self.dropped = dropped
        self.ladderSteps = ladderSteps
    }

    enum CodingKeys: String, CodingKey {
        case input, faces, detector, tracks, moments, triggers, latency, dropped
        case ladderSteps = "ladder_steps"
        case framesSkipped = "frames_skipped"
        case framesMissing = "frames_missing"
        case framesRead = "frames_read"
        case framesAnalysed = "frames_analysed"
        case framesWithOneFace = "frames_with_one_face"
        case meanEmotions = "mean_emotions"
        case elapsedSeconds = "elapsed_s"
        case analysedFramesPerSecond = "fps"
    }
}

/// How a run treats its source.
public struct AnalysisOptions: Sendable {
    public var policy: SamplingPolicy
    /// Assign ephemeral track ids, smooth per track and find moments.
    public var tracking: Bool
    public var smoothingHalfLifeMilliseconds: Double
    public var moments: MomentDetector
    /// Pace a file at its own frame rate, as if it were a live stream.
    public var realtime: Bool
    /// Run the analyzer's landmark stage, when it has one (off for a study that does not measure faces).
    public var measures: Bool

    public init(policy: SamplingPolicy, tracking: Bool = false, smoothingHalfLifeMilliseconds: Double = 500,
                moments: MomentDetector = MomentDetector(), realtime: Bool = false, measures: Bool = true) {
        self.measures = measures
        self.policy = policy
        self.tracking = tracking
        self.smoothingHalfLifeMilliseconds = smoothingHalfLifeMilliseconds
        self.moments = moments
        self.realtime = realtime
    }
}

/// Reads a source, samples it, analyses the sampled frames in order and hands each result to a sink.
///
/// The data flows one way: source → sampler → analyzer → tracking → sinks.
/// Frames exist only in memory for the time of their analysis.
public struct AnalysisRun {
    public let options: AnalysisOptions
    public let analyzer: FrameAnalyzer

    public init(options: AnalysisOptions, analyzer: FrameAnalyzer) {
        self.options = options
        self.analyzer = analyzer
    }

    public init(policy: SamplingPolicy, analyzer: FrameAnalyzer) {
        self.init(options: AnalysisOptions(policy: policy), analyzer: analyzer)
    }

    /// Runs to the end of the source.
    /// - Parameters:
    ///   - sink: receives every frame result in order; a thrown error stops the run.
    ///   - momentSink: receives moments as they close (tracking only).
    ///   - progress: called after every frame read with (frames read, frames declared by the source).
    public func run(source: any FrameSource, sink: (FrameResult) throws -> Void,
                    momentSink: (Moment) throws -> Void = { _ in },
                    progress: ((Int, Int?) -> Void)? = nil) throws -> AnalysisSummary {
        let start = ContinuousClock.now
        var pacer = RealtimePacer()
        var stream = StreamAnalysis(
            policy: options.policy,
            tracking: options.tracking
                ? TrackingStage(moments: options.moments, halfLifeMilliseconds: options.smoothingHalfLifeMilliseconds) : nil)
        var latency = LatencyRecorder()
        var read = 0, analysed = 0, faceCount = 0, single = 0, momentCount = 0, skipped = 0
        var sums = [Double](repeating: 0, count: Emotion.allCases.count)

        while let stamp = try source.advance() {
            var captured = ContinuousClock.now
            read += 1
            if options.realtime && !source.isLive { captured = pacer.wait(until: stamp.timeMilliseconds) }
            let sampled: Image?
            do {
                let (sample, decoded) = try stream.sample(at: stamp.timeMilliseconds) { try source.currentImage() }
                sampled = sample ? try decoded ?? source.currentImage() : nil
            } catch let error as VisionError where Self.isDamagedFrame(error) {
                // One bad frame of a video or stream is skipped and counted; the rest is still worth reading.
                skipped += 1
                progress?(read, source.declaredFrameCount)
                continue
            }
            if let frame = sampled {
                let (result, closed) = stream.complete(
                    FrameResult(frame: stamp.index, timeMilliseconds: stamp.timeMilliseconds, faces: try analyzer.analyze(frame, measures: options.measures)),
                    image: frame)
                analysed += 1
                faceCount += result.faces.count
                if result.faces.count == 1 { single += 1 }
                for face in result.faces {
                    for emotion in Emotion.allCases { sums[emotion.index] += face.emotions[emotion] }
                }
                try sink(result)
                latency.record(milliseconds: captured.duration(to: .now).milliseconds)
                for moment in closed { try momentSink(moment) }
                momentCount += closed.count
            }
            progress?(read, source.declaredFrameCount)
        }
        let closed = stream.finish()
        for moment in closed { try momentSink(moment) }
        momentCount += closed.count
        let elapsed = start.duration(to: .now).milliseconds / 1000
        var summary = AnalysisSummary(
            input: source.name, framesRead: read, framesAnalysed: analysed, faces: faceCount,
            framesWithOneFace: single, meanEmotions: EmotionDistribution(scores: sums), elapsedSeconds: elapsed,
            analysedFramesPerSecond: elapsed > 0 ? Double(analysed) / elapsed : 0, detector: analyzer.detector.name,
            tracks: stream.tracksStarted, moments: stream.tracking == nil ? nil : momentCount,
            triggers: stream.triggerSummary, latency: latency.summary)
        summary.framesSkipped = skipped > 0 ? skipped : nil
        summary.framesMissing = Self.missingFrames(read: read, declared: source.declaredFrameCount)
        return summary
    }

    /// Errors that spoil one frame, not the source.
    static func isDamagedFrame(_ error: VisionError) -> Bool {
        switch error {
        case .streamCorrupt, .imageCorrupt, .imageUnreadable, .imageUndecodable, .imageTooLarge: true
        default: false
        }
    }

    /// Declared frames never read. Containers round their counts (a WebM's comes from its duration), so
    /// a shortfall of up to 2 frames or 1% is not reported.
    static func missingFrames(read: Int, declared: Int?) -> Int? {
        guard let declared, declared - read > max(2, declared / 100) else { return nil }
        return declared - read
    }
}
