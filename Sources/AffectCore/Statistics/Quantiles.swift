/// Order statistics of small samples.
public enum Quantiles {
    /// The median (mean of the two middle values for an even count); nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The `q` quantile (0...1) of already sorted, non-empty values, interpolating linearly between
    /// order statistics (type 7, as R and numpy default to).
    public static func sorted(_ values: [Double], _ q: Double) -> Double {
        guard values.count > 1 else { return values.first ?? .nan }
        let position = min(max(q, 0), 1) * Double(values.count - 1)
        let lower = Int(position), fraction = position - Double(lower)
        return lower + 1 < values.count ? values[lower] + fraction * (values[lower + 1] - values[lower]) : values[lower]
    }
}
