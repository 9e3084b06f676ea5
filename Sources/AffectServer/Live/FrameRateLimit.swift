/// A token bucket on frames per connection: a client may send `framesPerSecond` on average, with a
/// burst of up to one second's worth. The page sends at the rate the server asks (at most the
/// sampler's maximum), so only a misbehaving client ever meets the limit.
struct FrameRateLimit: Sendable {
    let framesPerSecond: Double
    let burst: Double
    private var tokens: Double
    private var lastMilliseconds: Double?

    init(framesPerSecond: Double) {
        precondition(framesPerSecond > 0, "a rate limit needs a rate")
        self.framesPerSecond = framesPerSecond
        burst = max(1, framesPerSecond)
        tokens = burst
    }

    /// Whether a frame arriving at `milliseconds` (any monotonic clock) is within the limit.
    mutating func admit(atMilliseconds milliseconds: Double) -> Bool {
        if let last = lastMilliseconds {
            tokens = min(burst, tokens + max(0, milliseconds - last) / 1000 * framesPerSecond)
        }
        lastMilliseconds = milliseconds
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
