import Foundation

/// Frames that arrive over the network as encoded images (JPEG) with their
/// capture time, as the browser capture page sends them.
///
/// `push` never blocks: if the consumer has not taken the previous frame yet,
/// that older frame is dropped (and counted), so a slow analysis can never
/// hold up the sender.
public final class PushFrameSource: FrameSource, @unchecked Sendable {
    public let name: String
    public let nominalFramesPerSecond: Double? = nil
    public let declaredFrameCount: Int? = nil
    public let isLive = true

    private let condition = NSCondition()
    private var pending: (bytes: Data, timeMilliseconds: Double)?
    private var current: Data?
    private var closed = false
    private var nextIndex = 0
    private let timeoutSeconds: Double
    /// Frames replaced before the consumer took them.
    public private(set) var dropped = 0

    /// JPEGs are decoded at 1/`decodeReduction` of their size (1, 2, 4 or 8); results stay in the
    /// sender's pixel coordinates. BlazeFace looks at 128x128 anyway, so a 512x512 frame decoded at
    /// 256x256 loses it nothing and costs about a third of the time.
    public let decodeReduction: Int

    public init(name: String, timeoutSeconds: Double = 10, decodeReduction: Int = 1) {
        self.name = name
        self.timeoutSeconds = timeoutSeconds
        self.decodeReduction = decodeReduction
    }

    /// Offers one encoded frame captured at `timeMilliseconds` (the sender's clock, since its start).
    public func push(_ bytes: Data, capturedAt timeMilliseconds: Double) {
        condition.lock()
        if pending != nil { dropped += 1 }
        pending = (bytes, timeMilliseconds)
        condition.signal()
        condition.unlock()
    }

    /// Ends the stream; `advance` returns nil once the last frame is taken.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public func advance() throws -> FrameStamp? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while pending == nil && !closed {
            if !condition.wait(until: deadline) { throw VisionError.streamStalled(source: name, seconds: timeoutSeconds) }
        }
        guard let frame = pending else { return nil }
        pending = nil
        current = frame.bytes
        defer { nextIndex += 1 }
        return FrameStamp(index: nextIndex, timeMilliseconds: frame.timeMilliseconds)
    }

    public func currentImage() throws -> Image {
        condition.lock()
        let bytes = current
        condition.unlock()
        guard let bytes else { throw VisionError.streamCorrupt(source: name, reason: "no frame") }
        return try Image(encoded: bytes, reduction: decodeReduction, source: "\(name) frame \(nextIndex - 1)")
    }
}
