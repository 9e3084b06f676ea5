/// One blink of a tracked face: when the eyes closed and for how long, on the source's clock.
public struct Blink: Sendable, Hashable, Codable {
    public var onsetMilliseconds: Double
    public var durationMilliseconds: Double

    public init(onsetMilliseconds: Double, durationMilliseconds: Double) {
        self.onsetMilliseconds = onsetMilliseconds
        self.durationMilliseconds = durationMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case onsetMilliseconds = "onset_ms"
        case durationMilliseconds = "duration_ms"
    }
}
