/// The result for one analysed frame: its index and time, and every face found.
public struct FrameResult: Sendable, Hashable, Codable {
    /// Zero-based index of the frame in its source, counting frames that were not analysed.
    public var frame: Int
    /// Milliseconds since the start of the source: index / fps for files, a
    /// monotonic clock for live sources.
    public var timeMilliseconds: Double
    /// The faces, most confident first; empty when none was found.
    public var faces: [FaceResult]

    public init(frame: Int, timeMilliseconds: Double, faces: [FaceResult]) {
        self.frame = frame
        self.timeMilliseconds = timeMilliseconds
        self.faces = faces
    }

    enum CodingKeys: String, CodingKey {
        case frame
        case timeMilliseconds = "t_ms"
        case faces
    }
}
