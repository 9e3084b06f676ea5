/// Welch's t-test of two independent samples (unequal variances), with the interval of the
/// difference and Hedges' g: how an A/B comparison of per-participant values is stated.
public struct WelchTest: Sendable, Hashable, Codable {
    public var a: SampleSummary
    public var b: SampleSummary
    /// mean(a) − mean(b).
    public var difference: Double
    public var t: Double
    /// Welch–Satterthwaite degrees of freedom.
    public var degreesOfFreedom: Double
    /// Two-sided p-value.
    public var p: Double
    /// 95% interval of the difference.
    public var differenceLow: Double
    public var differenceHigh: Double
    /// Standardised difference with the small-sample correction (Hedges 1981), on the pooled SD.
    public var hedgesG: Double?

    /// nil unless both samples have at least two values and some spread.
    public init?(_ first: [Double], _ second: [Double], confidence: Double = 0.95) {
        guard let a = SampleSummary(first), let b = SampleSummary(second), a.count >= 2, b.count >= 2 else { return nil }
        let va = a.standardDeviation * a.standardDeviation / Double(a.count)
        let vb = b.standardDeviation * b.standardDeviation / Double(b.count)
        guard va + vb > 0 else { return nil }
        self.a = a
        self.b = b
        difference = a.mean - b.mean
        let standardError = (va + vb).squareRoot()
        t = difference / standardError
        degreesOfFreedom = (va + vb) * (va + vb) / (va * va / Double(a.count - 1) + vb * vb / Double(b.count - 1))
        p = 2 * StudentT.cdf(-abs(t), degreesOfFreedom: degreesOfFreedom)
        let half = StudentT.quantile(0.5 + confidence / 2, degreesOfFreedom: degreesOfFreedom) * standardError
        differenceLow = difference - half
        differenceHigh = difference + half
        let pooledDF = Double(a.count + b.count - 2)
        let pooled = ((Double(a.count - 1) * a.standardDeviation * a.standardDeviation
            + Double(b.count - 1) * b.standardDeviation * b.standardDeviation) / pooledDF).squareRoot()
        hedgesG = pooled > 0 ? difference / pooled * (1 - 3 / (4 * pooledDF - 1)) : nil
    }
}

/// Adjusting p-values for the many bins of a timeline compared at once.
public enum MultipleComparisons {
    /// Benjamini–Hochberg adjusted p-values (q-values), in the input's order: a bin is significant at
    /// false discovery rate α when its q ≤ α.
    public static func benjaminiHochberg(_ p: [Double]) -> [Double] {
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: p.count)
        var running = 1.0
        for rank in stride(from: order.count - 1, through: 0, by: -1) {
            let index = order[rank]
            running = min(running, p[index] * Double(p.count) / Double(rank + 1))
            adjusted[index] = min(1, running)
        }
        return adjusted
    }
}
