/// Probabilities over the seven ``Emotion`` categories, summing to 1.
///
/// A distribution is what the classifier says about the *appearance* of a face
/// in one frame: an estimate of which expression category it resembles, never
/// a statement about what the person feels.
public struct EmotionDistribution: Sendable, Hashable {
    /// One probability per ``Emotion``, in ``Emotion/allCases`` order.
    public private(set) var probabilities: [Double]

    /// Normalises non-negative scores into a distribution.
    ///
    /// Returns nil when there are not exactly seven scores, any is negative or
    /// not finite, or they sum to zero.
    public init?(scores: [Double]) {
        guard scores.count == Emotion.allCases.count,
              scores.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return nil }
        let total = scores.reduce(0, +)
        guard total > 0 else { return nil }
        probabilities = scores.map { $0 / total }
    }

    /// Normalises single-precision scores, as networks produce them.
    public init?(scores: [Float]) {
        self.init(scores: scores.map(Double.init))
    }

    /// The uniform distribution.
    public static let uniform = EmotionDistribution(uncheckedProbabilities: Array(repeating: 1.0 / 7.0, count: 7))

    private init(uncheckedProbabilities: [Double]) {
        probabilities = uncheckedProbabilities
    }

    /// The probability of one expression.
    public subscript(emotion: Emotion) -> Double {
        probabilities[emotion.index]
    }

    /// The most probable expression (the first in class order on a tie).
    public var dominant: Emotion {
        var best = 0
        for index in probabilities.indices where probabilities[index] > probabilities[best] {
            best = index
        }
        return Emotion.allCases[best]
    }

    /// The element-wise mean of several distributions; nil when there are none.
    public static func mean<S: Sequence>(_ distributions: S) -> EmotionDistribution? where S.Element == EmotionDistribution {
        var sums = Array(repeating: 0.0, count: 7)
        var count = 0
        for distribution in distributions {
            for index in sums.indices { sums[index] += distribution.probabilities[index] }
            count += 1
        }
        guard count > 0 else { return nil }
        return EmotionDistribution(scores: sums)
    }

    /// The same distribution with the given expressions removed and the rest
    /// renormalised; nil when nothing with positive probability is left.
    public func excluding(_ excluded: Set<Emotion>) -> EmotionDistribution? {
        EmotionDistribution(scores: Emotion.allCases.map { excluded.contains($0) ? 0 : self[$0] })
    }
}

extension EmotionDistribution: Codable {
    /// Encoded as an object keyed by expression name, e.g. `{"angry": 0.01, ...}`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: EmotionKey.self)
        for emotion in Emotion.allCases {
            try container.encode(self[emotion], forKey: EmotionKey(emotion))
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: EmotionKey.self)
        let scores = try Emotion.allCases.map { try container.decode(Double.self, forKey: EmotionKey($0)) }
        guard let distribution = EmotionDistribution(scores: scores) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "emotion probabilities must be non-negative"))
        }
        self = distribution
    }

    private struct EmotionKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ emotion: Emotion) { stringValue = emotion.rawValue }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
