/// A stretch of time in which one tracked face's smoothed expression stayed
/// above a threshold: when it started, when and how high it peaked, when it ended.
///
/// A moment describes how a face looked over time, not what the person felt.
public struct Moment: Sendable, Hashable, Codable {
    public var track: Int
    public var emotion: Emotion
    public var onsetMilliseconds: Double
    public var peakMilliseconds: Double
    /// The highest smoothed probability reached.
    public var peak: Double
    public var endMilliseconds: Double

    public init(track: Int, emotion: Emotion, onsetMilliseconds: Double, peakMilliseconds: Double, peak: Double,
                endMilliseconds: Double) {
        self.track = track
        self.emotion = emotion
        self.onsetMilliseconds = onsetMilliseconds
        self.peakMilliseconds = peakMilliseconds
        self.peak = peak
        self.endMilliseconds = endMilliseconds
    }

    public var durationMilliseconds: Double { endMilliseconds - onsetMilliseconds }

    enum CodingKeys: String, CodingKey {
        case track, emotion, peak
        case onsetMilliseconds = "onset_ms"
        case peakMilliseconds = "peak_ms"
        case endMilliseconds = "end_ms"
    }
}
