import Foundation

/// Replays a file source from the start whenever it ends, with frame indices
/// and timestamps that keep increasing: a stand-in for a camera that never stops.
public final class LoopingFrameSource: FrameSource {
    public let name: String
    public var nominalFramesPerSecond: Double? { current?.nominalFramesPerSecond }
    public let declaredFrameCount: Int? = nil
    public let isLive = false
    private let open: () throws -> any FrameSource
    // Opened on the first `advance()`, on the thread that reads it: decoder threads FFmpeg starts
    // then inherit that thread's (lowered) priority in the live engine.
    private var current: (any FrameSource)?
    private var indexOffset = 0
    private var timeOffset = 0.0
    private var last: FrameStamp?
    private var startDelaySeconds: Double

    /// - Parameter startDelaySeconds: the first frame is delivered this late. Real cameras do not start in
    ///   lockstep; many streams started together would sample the same instants and queue behind each other.
    public init(name: String, startDelaySeconds: Double = 0, open: @escaping () throws -> any FrameSource) {
        self.name = name
        self.open = open
        self.startDelaySeconds = startDelaySeconds
    }

    public func advance() throws -> FrameStamp? {
        if startDelaySeconds > 0 {
            Thread.sleep(forTimeInterval: startDelaySeconds)
            startDelaySeconds = 0
        }
        guard let current else {
            let first = try open()
            current = first
            return try first.advance()
        }
        if let stamp = try current.advance() {
            let continued = FrameStamp(index: stamp.index + indexOffset, timeMilliseconds: stamp.timeMilliseconds + timeOffset)
            last = continued
            return continued
        }
        guard let last else { return nil }
        let frameTime = 1000 / (current.nominalFramesPerSecond ?? 25)
        indexOffset = last.index + 1
        timeOffset = last.timeMilliseconds + frameTime
        let reopened = try open()
        self.current = reopened
        guard let stamp = try reopened.advance() else { return nil }
        let continued = FrameStamp(index: stamp.index + indexOffset, timeMilliseconds: stamp.timeMilliseconds + timeOffset)
        self.last = continued
        return continued
    }

    public func currentImage() throws -> Image {
        guard let current else { throw VisionError.inputUnreadable(path: name, reason: "no frame read yet") }
        return try current.currentImage()
    }
}
