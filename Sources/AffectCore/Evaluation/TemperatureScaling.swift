import Foundation

/// Temperature scaling (Guo et al., 2017): one number that softens or sharpens every distribution the
/// classifier produces, fitted so its probabilities match how often it is right. It never changes
/// which expression is most probable, so accuracy is untouched.
public struct TemperatureScaling: Sendable, Hashable, Codable {
    /// Above 1 softens (the raw model is over-confident), below 1 sharpens.
    public var temperature: Double

    public init(temperature: Double) {
        self.temperature = temperature
    }

    /// The distribution with its log-probabilities divided by the temperature, renormalised.
    public func apply(_ distribution: EmotionDistribution) -> EmotionDistribution {
        guard temperature != 1, temperature > 0 else { return distribution }
        // Probabilities are a softmax of logits, so log p is a logit up to a constant that cancels.
        let logits = distribution.probabilities.map { log(max($0, 1e-12)) / temperature }
        let top = logits.max() ?? 0
        return EmotionDistribution(scores: logits.map { exp($0 - top) }) ?? distribution
    }

    /// Mean negative log-likelihood of the labels after scaling.
    public func negativeLogLikelihood(_ samples: [(label: Emotion, prediction: EmotionDistribution)]) -> Double {
        guard !samples.isEmpty else { return 0 }
        let total = samples.reduce(0.0) { $0 - log(max(apply($1.prediction)[$1.label], 1e-12)) }
        return total / Double(samples.count)
    }

    /// The temperature in [0.05, 20] that minimises the negative log-likelihood of `samples`
    /// (golden-section search on its logarithm; the likelihood is unimodal in it).
    public static func fit(_ samples: [(label: Emotion, prediction: EmotionDistribution)]) -> TemperatureScaling {
        guard !samples.isEmpty else { return TemperatureScaling(temperature: 1) }
        func loss(_ logT: Double) -> Double { TemperatureScaling(temperature: exp(logT)).negativeLogLikelihood(samples) }
        let ratio = (5.0.squareRoot() - 1) / 2
        var (low, high) = (log(0.05), log(20.0))
        var a = high - ratio * (high - low), b = low + ratio * (high - low)
        var (lossA, lossB) = (loss(a), loss(b))
        for _ in 0..<60 {
            if lossA < lossB {
                high = b
                (b, lossB) = (a, lossA)
                a = high - ratio * (high - low)
                lossA = loss(a)
            } else {
                low = a
                (a, lossA) = (b, lossB)
                b = low + ratio * (high - low)
                lossB = loss(b)
            }
        }
        return TemperatureScaling(temperature: exp((low + high) / 2))
    }
}
