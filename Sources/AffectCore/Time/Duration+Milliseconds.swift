extension Duration {
    /// The duration in milliseconds, as every timestamp and latency in Affect is expressed.
    public var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}

/// Runs `body` and returns its result with the wall time it took, in milliseconds.
public func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, start.duration(to: .now).milliseconds)
}
