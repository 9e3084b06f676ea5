import AffectCore

/// Finds ``Moment``s in the smoothed expression of each track: an expression
/// that stays at or above `threshold` for at least `minimumDurationMilliseconds`.
public struct MomentDetector: Sendable {
    public var threshold: Double
    public var minimumDurationMilliseconds: Double
    /// Expressions that never form moments; neutral by default, since its absence is what matters.
    public var ignored: Set<Emotion>

    private struct Open: Sendable {
        var onset: Double
        var peakTime: Double
        var peak: Double
        var lastAbove: Double
    }

    private var open: [Int: [Emotion: Open]] = [:]

    public init(threshold: Double = 0.6, minimumDurationMilliseconds: Double = 500, ignored: Set<Emotion> = [.neutral]) {
        self.threshold = threshold
        self.minimumDurationMilliseconds = minimumDurationMilliseconds
        self.ignored = ignored
    }

    /// Feeds one smoothed observation of a track; returns the moments this observation closed.
    public mutating func observe(track: Int, smoothed: EmotionDistribution, at time: Double) -> [Moment] {
        var closed: [Moment] = []
        var states = open[track] ?? [:]
        for emotion in Emotion.allCases where !ignored.contains(emotion) {
            let value = smoothed[emotion]
            if value >= threshold {
                var state = states[emotion] ?? Open(onset: time, peakTime: time, peak: value, lastAbove: time)
                if value > state.peak {
                    state.peak = value
                    state.peakTime = time
                }
                state.lastAbove = time
                states[emotion] = state
            } else if let state = states.removeValue(forKey: emotion), let moment = close(state, track: track, emotion: emotion, end: time) {
                closed.append(moment)
            }
        }
        open[track] = states
        return closed
    }

    /// Closes every open moment of a track that ended or left view.
    public mutating func end(track: Int) -> [Moment] {
        let states = open.removeValue(forKey: track) ?? [:]
        return Emotion.allCases.compactMap { emotion in
            states[emotion].flatMap { close($0, track: track, emotion: emotion, end: $0.lastAbove) }
        }
    }

    private func close(_ state: Open, track: Int, emotion: Emotion, end: Double) -> Moment? {
        guard end - state.onset >= minimumDurationMilliseconds else { return nil }
        return Moment(track: track, emotion: emotion, onsetMilliseconds: state.onset, peakMilliseconds: state.peakTime,
                      peak: state.peak, endMilliseconds: end)
    }
}
