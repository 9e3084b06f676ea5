import Foundation

/// Decides which frames of a source are analysed.
public enum SamplingPolicy: Sendable, Hashable {
    /// At most this many frames per second of source time, evenly spread.
    case fixed(framesPerSecond: Double)
    /// `base` frames per second, rising to `max` when something changes (a face appears or
    /// leaves, the expression shifts, the face moves) and decaying back once things are still.
    case adaptive(base: Double, max: Double)
    /// Every frame.
    case everyFrame

    /// Files are analysed at 5 frames per second unless asked otherwise.
    public static let fileDefault = SamplingPolicy.fixed(framesPerSecond: 5)
    /// Live sources: 2 frames per second, up to 10 while something changes.
    public static let liveDefault = SamplingPolicy.adaptive(base: 2, max: 10)
}

/// Applies a ``SamplingPolicy`` to a stream of frame timestamps.
public struct FrameSampler: Sendable {
    public let policy: SamplingPolicy
    /// How long the adaptive rate stays at its maximum after the last trigger.
    public var holdMilliseconds = 1000.0
    /// After the hold, the extra rate halves every this many milliseconds.
    public var decayHalfLifeMilliseconds = 500.0

    /// Multiplies the rate of every policy (the load ladder sets 0.5 under load); every-frame then takes
    /// one frame in `1 / rateScale`.
    public var rateScale = 1.0

    private var nextDue: Double?
    private var skipped = 0
    private var escalatedAt: Double?
    private var sampleNextFrame = false

    public init(policy: SamplingPolicy) {
        self.policy = policy
    }

    /// The sampling rate in force at `timeMilliseconds`, in frames per second (nil for every frame).
    public func rate(at timeMilliseconds: Double) -> Double? {
        switch policy {
        case .everyFrame: return nil
        case .fixed(let framesPerSecond): return framesPerSecond
        case .adaptive(let base, let maximum):
            guard let escalatedAt else { return base }
            let sinceHold = timeMilliseconds - escalatedAt - holdMilliseconds
            guard sinceHold > 0 else { return maximum }
            return base + (maximum - base) * pow(2, -sinceHold / decayHalfLifeMilliseconds)
        }
    }

    /// Raises an adaptive rate to its maximum from `timeMilliseconds` on and
    /// samples the next frame. No effect on other policies.
    public mutating func escalate(at timeMilliseconds: Double) {
        guard case .adaptive = policy else { return }
        escalatedAt = timeMilliseconds
        sampleNextFrame = true
    }

    /// Whether the frame at `timeMilliseconds` should be analysed. Call once per frame, in order.
    public mutating func shouldSample(timeMilliseconds: Double) -> Bool {
        switch policy {
        case .everyFrame:
            guard rateScale < 1 else { return true }
            skipped += 1
            guard Double(skipped) >= (1 / max(rateScale, 0.01)).rounded() else { return false }
            skipped = 0
            return true
        case .fixed(let framesPerSecond):
            let interval = 1000 / (framesPerSecond * rateScale)
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
        case .adaptive:
            let interval = 1000 / ((rate(at: timeMilliseconds) ?? 1) * rateScale)
            // A tenth of an interval of slack for the jitter of live and pushed frames; the grid of due
            // times keeps the average rate exact, and restarts after an escalation or a gap.
            guard sampleNextFrame || nextDue.map({ timeMilliseconds >= $0 - 0.1 * interval }) ?? true else { return false }
            if sampleNextFrame || nextDue.map({ timeMilliseconds - $0 > interval }) ?? true {
                nextDue = timeMilliseconds + interval
            } else if let due = nextDue {
                nextDue = due + interval
            }
            sampleNextFrame = false
            return true
        }
    }
}
