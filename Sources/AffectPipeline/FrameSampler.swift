/// Decides which frames of a source are analysed.
public enum SamplingPolicy: Sendable, Hashable {
    /// At most this many frames per second of source time, evenly spread.
    case fixed(framesPerSecond: Double)
    /// Every frame.
    case everyFrame

    /// Files are analysed at 5 frames per second unless asked otherwise.
    public static let fileDefault = SamplingPolicy.fixed(framesPerSecond: 5)
}

/// Applies a ``SamplingPolicy`` to a stream of frame timestamps.
public struct FrameSampler: Sendable {
    public let policy: SamplingPolicy
    private var nextDue: Double?

    public init(policy: SamplingPolicy) {
        self.policy = policy
    }

    /// Whether the frame at `timeMilliseconds` should be analysed. Call once per frame, in order.
    public mutating func shouldSample(timeMilliseconds: Double) -> Bool {
        switch policy {
        case .everyFrame:
            return true
        case .fixed(let framesPerSecond):
            let interval = 1000 / framesPerSecond
            guard let due = nextDue else {
                nextDue = timeMilliseconds + interval
                return true
            }
            // Half a millisecond of slack absorbs rounding in index / fps timestamps.
            guard timeMilliseconds + 0.5 >= due else { return false }
            // Keep the grid (due + k * interval) so the rate does not drift; jump ahead after a gap.
            let missed = ((timeMilliseconds + 0.5 - due) / interval).rounded(.down)
            nextDue = due + (missed + 1) * interval
            return true
        }
    }
}
