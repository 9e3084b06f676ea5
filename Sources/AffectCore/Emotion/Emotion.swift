/// One of the seven facial expression categories the emotion model scores.
///
/// The raw values are the stable names used in every output format; the case
/// order is the model's class order and never changes.
public enum Emotion: String, CaseIterable, Codable, Sendable, Hashable {
    case angry, disgust, fear, happy, sad, surprise, neutral

    /// Position in ``Emotion/allCases`` and in the model's output vector.
    public var index: Int {
        switch self {
        case .angry: 0
        case .disgust: 1
        case .fear: 2
        case .happy: 3
        case .sad: 4
        case .surprise: 5
        case .neutral: 6
        }
    }

    /// Reads a label as data sets spell it: `angry`/`anger`, `happy`/`happiness`,
    /// `sad`/`sadness`, `surprise`/`surprised`, `disgust`/`disgusted`, `fear`/`fearful`, `neutral`.
    /// Returns nil for anything else (such as `contempt`, which the model does not score).
    public init?(label: String) {
        switch label.lowercased() {
        case "angry", "anger": self = .angry
        case "disgust", "disgusted": self = .disgust
        case "fear", "fearful", "afraid": self = .fear
        case "happy", "happiness": self = .happy
        case "sad", "sadness": self = .sad
        case "surprise", "surprised": self = .surprise
        case "neutral": self = .neutral
        default: return nil
        }
    }
}
