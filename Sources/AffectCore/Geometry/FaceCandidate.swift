/// A face a detector proposes: where it is, how sure the detector is, and its landmarks.
///
/// Landmarks follow the detector's own convention; both detectors Affect ships
/// start with the two eyes (the subject's right eye first, i.e. the left one in
/// the image), then the nose tip.
public struct FaceCandidate: Sendable, Hashable {
    public var box: Box
    public var score: Double
    public var landmarks: [Point]

    public init(box: Box, score: Double, landmarks: [Point]) {
        self.box = box
        self.score = score
        self.landmarks = landmarks
    }

    /// The same face with every coordinate multiplied by `factor`.
    public func scaled(by factor: Double) -> FaceCandidate {
        guard factor != 1 else { return self }
        return FaceCandidate(box: box.scaled(by: factor), score: score,
                             landmarks: landmarks.map { Point(x: $0.x * factor, y: $0.y * factor) })
    }
}
