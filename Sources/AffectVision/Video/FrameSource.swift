/// Where a frame sits in its source.
public struct FrameStamp: Sendable, Hashable {
    /// Zero-based index, counting every frame the source produced.
    public var index: Int
    /// Milliseconds since the source started: index / fps for files, a monotonic clock for live sources.
    public var timeMilliseconds: Double

    public init(index: Int, timeMilliseconds: Double) {
        self.index = index
        self.timeMilliseconds = timeMilliseconds
    }
}

/// A sequence of frames that can be skipped cheaply and decoded on demand.
///
/// `advance()` moves to the next frame without converting it, so a sampler
/// can pass over frames it does not analyse; `currentImage()` decodes the
/// frame last advanced to. Not thread-safe.
public protocol FrameSource: AnyObject {
    /// The input as the user named it, for messages.
    var name: String { get }
    /// Frames per second the source declares, if any.
    var nominalFramesPerSecond: Double? { get }
    /// Frames the source declares it holds, if known (files only).
    var declaredFrameCount: Int? { get }
    /// True for cameras and network streams, whose timestamps come from a monotonic clock.
    var isLive: Bool { get }
    /// Moves to the next frame. Returns nil at the end of a file; throws when a stream fails or stalls.
    func advance() throws -> FrameStamp?
    /// The pixels of the frame last advanced to.
    func currentImage() throws -> Image
    /// Ends a stream fed from outside (a page's JPEGs, a WebRTC track): ``advance()`` returns nil once
    /// what is waiting is taken. Safe from any thread. Sources that read for themselves ignore it (the
    /// engine stops them at their next frame).
    func close()
    /// Frames of a stream fed from outside that newer ones replaced before the engine took them.
    var dropped: Int { get }
}

extension FrameSource {
    public func close() {}
    public var dropped: Int { 0 }
}
