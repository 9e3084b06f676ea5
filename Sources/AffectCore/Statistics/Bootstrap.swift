/// Percentile bootstrap intervals: resample the items with replacement, recompute the statistics,
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
        intervals(items, count: 1, resamples: resamples, seed: seed) { [statistic($0)] }[0]
    }

    /// Several statistics of the same resamples at once: `statistics` returns `count` values (nil where
    /// one is undefined) for a sample, and is called once per resample, so whatever they share (a
    /// report built from the sample) is computed once.
    public static func intervals<T>(_ items: [T], count: Int, resamples: Int, seed: UInt64,
                                    statistics: ([T]) -> [Double?]) -> [Interval?] {
        guard !items.isEmpty else { return Array(repeating: nil, count: count) }
        let whole = statistics(items)
        var generator = SeededGenerator(seed: seed)
        var values = Array(repeating: [Double](), count: count)
        var sample = items
        for _ in 0..<max(0, resamples) {
            for index in sample.indices { sample[index] = items[Int.random(in: 0..<items.count, using: &generator)] }
            for (slot, value) in statistics(sample).prefix(count).enumerated() {
                if let value { values[slot].append(value) }
            }
        }
        return (0..<count).map { slot in
            guard slot < whole.count, let value = whole[slot] else { return nil }
            guard !values[slot].isEmpty else { return Interval(value: value, low: value, high: value) }
            let sorted = values[slot].sorted()
            return Interval(value: value, low: Quantiles.sorted(sorted, 0.025), high: Quantiles.sorted(sorted, 0.975))
        }
    }
}
