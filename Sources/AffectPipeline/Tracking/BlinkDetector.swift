import AffectCore

/// Finds blinks in each track's ``FaceMeasures/EyesOpen`` series.
///
/// Eye openness differs between people and with head pose, so a blink is judged against the track's
/// own recent level (the median of its last samples): the eyes count as closing when openness falls
/// under `closeRatio` of that level and as open again when it is back above `reopenRatio` (the gap
/// keeps one blink from counting twice while the lids move). A closure longer than
/// `maximumDurationMilliseconds` is eyes kept shut, not a blink, and is not reported. Blinks last
/// 100-400 ms, so they need about 15 or more analysed frames per second (`--every-frame` on a 25 fps
/// video): samples more than `maximumGapMilliseconds` apart find none, rather than counting a
/// closure the eyes may have opened from in between.
public struct BlinkDetector: Sendable {
    public var closeRatio: Double
    public var reopenRatio: Double
    public var maximumDurationMilliseconds: Double
    /// Samples further apart than this cannot see a blink: a closure across such a gap is dropped.
    public var maximumGapMilliseconds: Double
    /// Samples kept for the track's level, and how many it needs before judging.
    public var levelSamples: Int
    public var minimumSamples: Int

    private struct TrackState: Sendable {
        var recent: [Double] = []
        var closedSince: Double?
        var lastTime: Double?
    }

    private var tracks: [Int: TrackState] = [:]

    public init(closeRatio: Double = 0.7, reopenRatio: Double = 0.85, maximumDurationMilliseconds: Double = 1000,
                maximumGapMilliseconds: Double = 100, levelSamples: Int = 50, minimumSamples: Int = 5) {
        self.maximumGapMilliseconds = maximumGapMilliseconds
        self.closeRatio = closeRatio
        self.reopenRatio = reopenRatio
        self.maximumDurationMilliseconds = maximumDurationMilliseconds
        self.levelSamples = levelSamples
        self.minimumSamples = minimumSamples
    }

    /// Feeds one observation of a track; returns the blink that this observation ended, if any.
    public mutating func observe(track: Int, eyesOpen: Double, at time: Double) -> Blink? {
        var state = tracks[track] ?? TrackState()
        defer { tracks[track] = state }
        if let last = state.lastTime, time - last > maximumGapMilliseconds { state.closedSince = nil }
        state.lastTime = time
        let level = Quantiles.median(state.recent) ?? 0
        var ended: Blink?
        if state.recent.count >= minimumSamples, level > 0 {
            if let since = state.closedSince {
                if eyesOpen >= reopenRatio * level {
                    state.closedSince = nil
                    let duration = time - since
                    if duration <= maximumDurationMilliseconds {
                        ended = Blink(onsetMilliseconds: since, durationMilliseconds: duration)
                    }
                }
            } else if eyesOpen < closeRatio * level {
                state.closedSince = time
            }
        }
        // Closed samples do not pull the level down.
        if state.closedSince == nil {
            state.recent.append(eyesOpen)
            if state.recent.count > levelSamples { state.recent.removeFirst(state.recent.count - levelSamples) }
        }
        return ended
    }

    /// Forgets a track that ended; a blink still open when the face left view is not reported.
    public mutating func end(track: Int) {
        tracks[track] = nil
    }
}
