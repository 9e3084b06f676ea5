import Histogram

/// Frame-to-result latency percentiles, recorded in microseconds with HdrHistogram
/// (three significant digits, up to one minute).
public struct LatencyRecorder: Sendable {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func record(milliseconds: Double) {
        _ = histogram.record(UInt64(max(0, min(milliseconds * 1000, 60_000_000))))
    }

    public var count: UInt64 { histogram.totalCount }

    /// Latency at a percentile (0-100), in milliseconds.
    public func percentile(_ value: Double) -> Double {
        Double(histogram.valueAtPercentile(value)) / 1000
    }

    public var maximumMilliseconds: Double { Double(histogram.max) / 1000 }

    /// p50, p95, p99 and max, in milliseconds; nil when nothing was recorded.
    public var summary: LatencySummary? {
        guard count > 0 else { return nil }
        return LatencySummary(p50: percentile(50), p95: percentile(95), p99: percentile(99), max: maximumMilliseconds)
    }
}

/// Latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Codable, Hashable {
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var max: Double

    enum CodingKeys: String, CodingKey {
        case p50 = "p50_ms", p95 = "p95_ms", p99 = "p99_ms", max = "max_ms"
    }
}
