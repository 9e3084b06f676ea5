/// What Affect reports about one face in one analysed frame.
public struct FaceResult: Sendable, Hashable {
    public var box: Box
    /// The detector's confidence that this is a face, in [0, 1].
    public var score: Double
    public var landmarks: [Point]
    /// Expression probabilities for the face's appearance in this frame.
    public var emotions: EmotionDistribution

    public init(box: Box, score: Double, landmarks: [Point], emotions: EmotionDistribution) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
        self.emotions = emotions
    }

    public var dominant: Emotion { emotions.dominant }
    public var circumplex: Circumplex { Circumplex(emotions) }
}

extension FaceResult: Codable {
    enum CodingKeys: String, CodingKey {
        case box, score, landmarks, emotions, dominant, valence, arousal
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(box, forKey: .box)
        try container.encode(score, forKey: .score)
        try container.encode(landmarks, forKey: .landmarks)
        try container.encode(emotions, forKey: .emotions)
        try container.encode(dominant, forKey: .dominant)
        let point = circumplex
        try container.encode(point.valence, forKey: .valence)
        try container.encode(point.arousal, forKey: .arousal)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        box = try container.decode(Box.self, forKey: .box)
        score = try container.decode(Double.self, forKey: .score)
        landmarks = try container.decode([Point].self, forKey: .landmarks)
        emotions = try container.decode(EmotionDistribution.self, forKey: .emotions)
    }
}
