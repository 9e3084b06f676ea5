import AffectCore
import AffectVision

/// Why an adaptive sampler sped up.
public enum TriggerReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// The number of faces changed between analysed frames.
    case faces
    /// A tracked face's expression distribution moved by more than the threshold.
    case expression
    /// The face region changed between an analysed frame and a later, unanalysed one.
    case motion
}

/// Watches analysed frames (and, cheaply, the frames in between) for the changes
/// that make an adaptive sampler analyse more often.
public struct ChangeTriggers {
    /// Total-variation distance between consecutive distributions of one track that counts as a change.
    public var expressionThreshold = 0.25
    /// Mean absolute difference of the 16x16 grey face-region thumbnails (0-1) that counts as motion.
    public var motionThreshold = 0.08

    private var lastFaceCount: Int?
    private var lastDistribution: [Int: EmotionDistribution] = [:]
    private var region: Box?
    private var reference: [Float]?
    private static let thumbnail = 16
    private static let encoding = TensorEncoding(colour: .grey, scale: 1.0 / 255.0, offset: 0)

    public init() {}

    /// Compares an analysed frame with the previous one; `image` is the frame itself, kept as the motion reference.
    public mutating func observe(_ result: FrameResult, image: Image) -> [TriggerReason] {
        var reasons: [TriggerReason] = []
        if let last = lastFaceCount, last != result.faces.count { reasons.append(.faces) }
        lastFaceCount = result.faces.count
        var seen: [Int: EmotionDistribution] = [:]
        var expressionChanged = false
        for face in result.faces {
            guard let track = face.track else { continue }
            if let previous = lastDistribution[track] {
                let distance = zip(previous.probabilities, face.emotions.probabilities).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
                if distance > expressionThreshold { expressionChanged = true }
            }
            seen[track] = face.emotions
        }
        lastDistribution = seen
        if expressionChanged { reasons.append(.expression) }
        region = result.faces.map(\.box).reduce(nil) { union($0, $1) }
        reference = region.flatMap { thumbnail(of: $0, in: image) }
        return reasons
    }

    /// Whether the face region of an unanalysed frame differs enough from the last analysed one.
    /// False when the last analysed frame had no face.
    public func motion(in image: Image) -> Bool {
        guard let region, let reference, let current = thumbnail(of: region, in: image) else { return false }
        let difference = zip(reference, current).reduce(Float(0)) { $0 + abs($1.0 - $1.1) } / Float(current.count)
        return Double(difference) > motionThreshold
    }

    /// True when motion checks can run: the last analysed frame had a face.
    public var watchesMotion: Bool { reference != nil }

    /// A small grey thumbnail of a region given in source pixels.
    private func thumbnail(of region: Box, in image: Image) -> [Float]? {
        try? image.tensor(crop: region.scaled(by: 1 / image.coordinateScale), width: Self.thumbnail,
                          height: Self.thumbnail, encoding: Self.encoding, interpolation: .area)
    }

    private func union(_ a: Box?, _ b: Box) -> Box {
        guard let a else { return b }
        return Box(minX: min(a.x, b.x), minY: min(a.y, b.y), maxX: max(a.maxX, b.maxX), maxY: max(a.maxY, b.maxY))
    }
}
