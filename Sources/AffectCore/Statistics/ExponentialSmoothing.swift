import Foundation

/// Exponential smoothing of an ``EmotionDistribution`` over irregularly spaced samples.
///
/// The weight of the past halves every `halfLifeMilliseconds`, whatever the
/// sampling rate, so adaptive sampling does not change how smooth the output is.
public struct ExponentialSmoothing: Sendable, Hashable {
    public let halfLifeMilliseconds: Double
    public private(set) var value: EmotionDistribution?
    private var lastTime: Double?

    public init(halfLifeMilliseconds: Double) {
        self.halfLifeMilliseconds = halfLifeMilliseconds
    }

    /// Folds in a new observation at `timeMilliseconds` and returns the smoothed distribution.
    public mutating func update(_ observation: EmotionDistribution, at timeMilliseconds: Double) -> EmotionDistribution {
        guard let previous = value, let last = lastTime, halfLifeMilliseconds > 0 else {
            value = observation
            lastTime = timeMilliseconds
            return observation
        }
        let elapsed = max(0, timeMilliseconds - last)
        let keep = pow(0.5, elapsed / halfLifeMilliseconds)
        let blended = zip(previous.probabilities, observation.probabilities).map { keep * $0 + (1 - keep) * $1 }
        let next = EmotionDistribution(scores: blended) ?? observation
        value = next
        lastTime = timeMilliseconds
        return next
    }
}
