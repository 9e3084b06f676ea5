import AffectCore
import AffectVision

/// One stream's state around analysis: which frames to analyse (with motion probes for adaptive
/// policies), then tracking, smoothing, moments and change triggers on each result.
///
/// `AnalysisRun` and `LiveEngine` both drive streams through this type, so a file and a live
/// stream are sampled and followed the same way. Not thread-safe: the live engine guards it with
/// the stream's lock.
public struct StreamAnalysis {
    public private(set) var sampler: FrameSampler
    public private(set) var tracking: TrackingStage?
    private var triggers = ChangeTriggers()
    private var triggerCounts: [TriggerReason: Int] = [:]
    public let adaptive: Bool

    public init(policy: SamplingPolicy, tracking: TrackingStage?) {
        sampler = FrameSampler(policy: policy)
        self.tracking = tracking
        if case .adaptive = policy { adaptive = true } else { adaptive = false }
    }

    /// The sampler's rate multiplier (the load ladder sets 0.5 under load).
    public var rateScale: Double {
        get { sampler.rateScale }
        set { sampler.rateScale = newValue }
    }

    /// Whether to analyse the frame at `time`. When the sampler says no, an adaptive stream whose
    /// last analysed frame had a face decodes the frame (`frame`) and probes it for motion, if
    /// `probeMotion`; motion escalates the sampler and takes this frame. Returns the frame a probe
    /// decoded, so it is not decoded twice.
    public mutating func sample(at time: Double, probeMotion: Bool = true,
                                frame: () throws -> Image) rethrows -> (sample: Bool, decoded: Image?) {
        if sampler.shouldSample(timeMilliseconds: time) { return (true, nil) }
        guard probeMotion, adaptive, triggers.watchesMotion else { return (false, nil) }
        let image = try frame()
        guard triggers.motion(in: image) else { return (false, image) }
        triggerCounts[.motion, default: 0] += 1
        sampler.escalate(at: time)
        return (sampler.shouldSample(timeMilliseconds: time), image)
    }

    /// Tracks, smooths and watches one analysed frame; returns it annotated and the moments that closed.
    public mutating func complete(_ result: FrameResult, image: Image) -> (FrameResult, [Moment]) {
        var annotated = result
        var closed: [Moment] = []
        if var stage = tracking {
            (annotated, closed) = stage.process(result)
            tracking = stage
        }
        if adaptive {
            let reasons = triggers.observe(annotated, image: image)
            for reason in reasons { triggerCounts[reason, default: 0] += 1 }
            if !reasons.isEmpty { sampler.escalate(at: result.timeMilliseconds) }
        }
        return (annotated, closed)
    }

    /// Ends every track at the end of the stream and returns their open moments.
    public mutating func finish() -> [Moment] {
        guard var stage = tracking else { return [] }
        defer { tracking = stage }
        return stage.finish()
    }

    /// Tracks started, with tracking on.
    public var tracksStarted: Int? { tracking?.tracksStarted }

    /// Adaptive sampling escalations by reason; nil for other policies.
    public var triggerSummary: [String: Int]? {
        guard adaptive else { return nil }
        return Dictionary(uniqueKeysWithValues: TriggerReason.allCases.map { ($0.rawValue, triggerCounts[$0] ?? 0) })
    }
}
