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

    public init(name: String, timeoutSeconds: Double = 10) {
        self.name = name
        self.timeoutSeconds = timeoutSeconds
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
        return try Image(encoded: bytes, source: "\(name) frame \(nextIndex - 1)")
    }
}
