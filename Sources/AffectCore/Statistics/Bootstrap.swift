/// Percentile bootstrap intervals: resample the items with replacement, recompute the statistic,
/// take the 2.5th and 97.5th percentiles.
public enum Bootstrap {
    /// A statistic with its 95% interval.
    public struct Interval: Sendable, Hashable, Codable {
        public var value: Double
        public var low: Double
        public var high: Double

        public init(value: Double, low: Double, high: Double) {
            self.value = value
            self.low = low
            self.high = high
        }
    }

    /// The statistic of `items` with a 95% percentile interval from `resamples` resamples; nil when
    /// there are no items or the statistic is undefined on them.
    public static func interval<T>(_ items: [T], resamples: Int, seed: UInt64,
                                   statistic: ([T]) -> Double?) -> Interval? {
        guard !items.isEmpty, let value = statistic(items) else { return nil }
        var generator = SeededGenerator(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var sample = items
        for _ in 0..<max(0, resamples) {
            for index in sample.indices { sample[index] = items[Int.random(in: 0..<items.count, using: &generator)] }
            if let resampled = statistic(sample) { values.append(resampled) }
        }
        guard !values.isEmpty else { return Interval(value: value, low: value, high: value) }
        values.sort()
        return Interval(value: value, low: Quantiles.sorted(values, 0.025), high: Quantiles.sorted(values, 0.975))
    }
}
