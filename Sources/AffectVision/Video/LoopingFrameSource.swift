/// Replays a file source from the start whenever it ends, with frame indices
/// and timestamps that keep increasing: a stand-in for a camera that never stops.
public final class LoopingFrameSource: FrameSource {
    public let name: String
    public var nominalFramesPerSecond: Double? { current.nominalFramesPerSecond }
    public let declaredFrameCount: Int? = nil
    public let isLive = false
    private let open: () throws -> any FrameSource
    private var current: any FrameSource
    private var indexOffset = 0
    private var timeOffset = 0.0
    private var last: FrameStamp?

    public init(name: String, open: @escaping () throws -> any FrameSource) throws {
        self.name = name
        self.open = open
        current = try open()
    }

    public func advance() throws -> FrameStamp? {
        if let stamp = try current.advance() {
            let continued = FrameStamp(index: stamp.index + indexOffset, timeMilliseconds: stamp.timeMilliseconds + timeOffset)
            last = continued
            return continued
        }
        guard let last else { return nil }
        let frameTime = 1000 / (current.nominalFramesPerSecond ?? 25)
        indexOffset = last.index + 1
        timeOffset = last.timeMilliseconds + frameTime
        current = try open()
        guard let stamp = try current.advance() else { return nil }
        let continued = FrameStamp(index: stamp.index + indexOffset, timeMilliseconds: stamp.timeMilliseconds + timeOffset)
        self.last = continued
        return continued
    }

    public func currentImage() throws -> Image {
        try current.currentImage()
    }
}
