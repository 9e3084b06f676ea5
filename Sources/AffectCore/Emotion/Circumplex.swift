/// Valence and arousal derived from an ``EmotionDistribution``.
///
/// Each category is placed at a fixed point of Russell's circumplex of affect
/// (J. A. Russell, "A circumplex model of affect", 1980): valence runs from
/// unpleasant (-1) to pleasant (+1), arousal from deactivated (-1) to
/// activated (+1). Positions are the angles at which Russell's and later
/// circumplex studies place the category words, on the unit circle; neutral
/// sits at the origin. The derived values are the probability-weighted mean of
/// those points: a summary of the *expression* estimate on two axes, not a
/// measurement of how the person feels. docs/model-card.md lists the table.
public struct Circumplex: Sendable, Hashable {
    /// Valence in [-1, 1].
    public var valence: Double
    /// Arousal in [-1, 1].
    public var arousal: Double

    public init(valence: Double, arousal: Double) {
        self.valence = valence
        self.arousal = arousal
    }

    /// The fixed point of one category, from its angle in degrees (0 = pleasant,
    /// 90 = activated).
    public static func position(of emotion: Emotion) -> Circumplex {
        guard let degrees = angle[emotion] else { return Circumplex(valence: 0, arousal: 0) }
        let radians = degrees * .pi / 180
        return Circumplex(valence: cos(radians), arousal: sin(radians))
    }

    /// Angles in degrees; neutral has none and maps to the origin.
    public static let angle: [Emotion: Double] = [
        .happy: 20,      // "happy", "pleased": pleasant, moderately activated
        .surprise: 80,   // "astonished": activated, near-neutral valence
        .fear: 110,      // "afraid", "alarmed"
        .angry: 125,     // "angry"
        .disgust: 145,   // "annoyed", "distressed": unpleasant, mildly activated
        .sad: 210,       // "sad", "gloomy": unpleasant, deactivated
    ]

    /// The probability-weighted mean position of a distribution.
    public init(_ distribution: EmotionDistribution) {
        var valence = 0.0, arousal = 0.0
        for emotion in Emotion.allCases {
            let point = Circumplex.position(of: emotion)
            valence += distribution[emotion] * point.valence
            arousal += distribution[emotion] * point.arousal
        }
        self.init(valence: valence, arousal: arousal)
    }

    /// The same mean over the expressions a participant agreed to (their probabilities already renormalised).
    public init(_ reported: ReportedEmotions) {
        var valence = 0.0, arousal = 0.0
        for emotion in Emotion.allCases {
            guard let probability = reported[emotion] else { continue }
            let point = Circumplex.position(of: emotion)
            valence += probability * point.valence
            arousal += probability * point.arousal
        }
        self.init(valence: valence, arousal: arousal)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
