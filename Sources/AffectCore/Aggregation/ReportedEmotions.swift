/// Expression probabilities as they may be stored: the participant's opted-out expressions are absent.
///
/// Opted-out expressions are removed and the remaining probabilities renormalised to sum
/// to 1, so the stored numbers say how the face's appearance splits among the expressions
/// the participant agreed to, and the excluded expression cannot be recovered from them
/// (without renormalising, 1 minus the sum would reveal it). The ratios between the
/// remaining expressions are those the model gave.
public struct ReportedEmotions: Sendable, Hashable, Codable {
    /// One entry per ``Emotion`` in `allCases` order; nil for an excluded expression.
    public private(set) var probabilities: [Double?]

    /// Reports `distribution` without the `excluded` expressions; nil when nothing is left to report.
    public init?(_ distribution: EmotionDistribution, excluding excluded: Set<Emotion>) {
        guard let kept = distribution.excluding(excluded) else { return nil }
        probabilities = Emotion.allCases.map { excluded.contains($0) ? nil : kept[$0] }
    }

    /// Rebuilds stored values; nil unless there are seven entries, the present ones non-negative.
    public init?(probabilities: [Double?]) {
        guard probabilities.count == Emotion.allCases.count,
              probabilities.allSatisfy({ $0.map { $0.isFinite && $0 >= 0 } ?? true }),
              probabilities.contains(where: { $0 != nil }) else { return nil }
        self.probabilities = probabilities
    }

    public subscript(emotion: Emotion) -> Double? {
        probabilities[emotion.index]
    }
}
