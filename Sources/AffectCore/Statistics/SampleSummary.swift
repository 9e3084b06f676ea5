/// Mean, spread and count of one sample: one value per participant.
///
/// The unit of every interval and test in Affect is the participant, never the frame: frames of one
/// face are strongly correlated, and counting them as independent would make intervals far too narrow.
public struct SampleSummary: Sendable, Hashable, Codable {
    public var count: Int
    public var mean: Double
    /// The sample standard deviation (n − 1 in the denominator); 0 for a single value.
    public var standardDeviation: Double

    /// nil for an empty sample or one with a value that is not finite.
    public init?(_ values: [Double]) {
        guard !values.isEmpty, values.allSatisfy(\.isFinite) else { return nil }
        count = values.count
        let mean = values.reduce(0, +) / Double(values.count)
        self.mean = mean
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        standardDeviation = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
    }

    public var standardError: Double { standardDeviation / Double(count).squareRoot() }

    /// The t interval for the mean at `confidence`; nil with fewer than two values.
    public func meanInterval(confidence: Double = 0.95) -> ClosedRange<Double>? {
        guard count >= 2 else { return nil }
        let half = StudentT.quantile(0.5 + confidence / 2, degreesOfFreedom: Double(count - 1)) * standardError
        return (mean - half)...(mean + half)
    }
}
