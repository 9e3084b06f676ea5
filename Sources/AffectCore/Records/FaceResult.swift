/// What Affect reports about one face in one analysed frame.
public struct FaceResult: Sendable, Hashable {
    public var box: Box
    /// The detector's confidence that this is a face, in [0, 1].
    public var score: Double
    public var landmarks: [Point]
    /// Expression probabilities for the face's appearance in this frame.
    public var emotions: EmotionDistribution
    /// Ephemeral track id when tracking is on: the same number follows one face
    /// while it stays in view. It is not an identity and is never reused for re-identification.
    public var track: Int?
    /// The track's exponentially smoothed distribution, when tracking is on.
    public var smoothed: EmotionDistribution?
    /// Head pose, gaze, eyes, mouth and attention, when the landmark stage ran and found a mesh.
    public var measures: FaceMeasures?
    /// With tracking and measures: the blink that ended at this frame (the eyes opened again).
    public var blink: Blink?

    public init(box: Box, score: Double, landmarks: [Point], emotions: EmotionDistribution, track: Int? = nil,
                smoothed: EmotionDistribution? = nil, measures: FaceMeasures? = nil) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
        self.emotions = emotions
        self.track = track
        self.smoothed = smoothed
        self.measures = measures
    }

    public var dominant: Emotion { emotions.dominant }
    public var circumplex: Circumplex { Circumplex(emotions) }
}

extension FaceResult: Codable {
    enum CodingKeys: String, CodingKey {
        case box, score, landmarks, emotions, dominant, valence, arousal, track, smoothed
        case blink
        case headPose = "head_pose"
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
        try container.encodeIfPresent(track, forKey: .track)
        try container.encodeIfPresent(smoothed, forKey: .smoothed)
        try container.encodeIfPresent(blink, forKey: .blink)
        // The measures' keys (head_pose, gaze, eyes_open, ...) sit beside the face's own.
        try measures?.encode(to: encoder)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        box = try container.decode(Box.self, forKey: .box)
        score = try container.decode(Double.self, forKey: .score)
        landmarks = try container.decode([Point].self, forKey: .landmarks)
        emotions = try container.decode(EmotionDistribution.self, forKey: .emotions)
        track = try container.decodeIfPresent(Int.self, forKey: .track)
        smoothed = try container.decodeIfPresent(EmotionDistribution.self, forKey: .smoothed)
        blink = try container.decodeIfPresent(Blink.self, forKey: .blink)
        measures = container.contains(.headPose) ? try FaceMeasures(from: decoder) : nil
    }
}
