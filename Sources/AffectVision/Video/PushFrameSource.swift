import Foundation

/// Frames that arrive over the network as encoded images (JPEG) with their
/// capture time, as the browser capture page sends them.
///
/// `push` never blocks: if the consumer has not taken the previous frame yet,
/// that older frame is dropped (and counted), so a slow analysis can never
/// hold up the sender.
// Mutable state is guarded by `condition` (an NSCondition: the reader waits on it for the next
// frame, which a Mutex cannot do).
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
    private var droppedCount = 0
    /// Frames replaced before the consumer took them.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// JPEGs are decoded at 1/`decodeReduction` of their size (1, 2, 4 or 8); results stay in the
    /// sender's pixel coordinates. BlazeFace looks at 128x128 anyway, so the detector loses nothing, but
    /// the classifier's face crop does: on talking-head clips half-size decoding changed the top
    /// expression on 11% of frames for 0.4 ms saved, so Affect itself decodes at full size.
    public let decodeReduction: Int

    /// Larger frames are refused (a 1280x720 webcam JPEG is about 100 to 300 KB).
    public let maximumFrameBytes: Int
    /// Frames whose header declares more pixels are refused before decoding (``PixelLimit/capture``).
    public let maximumPixels: Int

    /// Why a pushed frame was refused before it reached the decoder.
    public enum Rejection: Error, Sendable, Hashable, CustomStringConvertible {
        case tooLarge(bytes: Int, limit: Int)
        case tooManyPixels(width: Int, height: Int, limit: Int)
        case notJPEG
        case malformed(String)

        public var description: String {
            switch self {
            case .tooLarge(let bytes, let limit): "frame of \(bytes) bytes exceeds the \(limit)-byte limit"
            case .tooManyPixels(let width, let height, let limit):
                "a \(width)x\(height) frame is over the \(PixelLimit.describe(limit)) limit"
            case .notJPEG: "frame is not a JPEG image"
            case .malformed(let reason): "frame is not a readable JPEG: \(reason)"
            }
        }

        /// The metrics label of the refusal.
        public var reason: String {
            switch self {
            case .tooLarge: "bytes"
            case .tooManyPixels: "pixels"
            case .notJPEG, .malformed: "not_jpeg"
            }
        }
    }

    public init(name: String, timeoutSeconds: Double = 10, decodeReduction: Int = 1, maximumFrameBytes: Int = 2 * 1024 * 1024,
                maximumPixels: Int = PixelLimit.capture) {
        self.name = name
        self.timeoutSeconds = timeoutSeconds
        self.decodeReduction = decodeReduction
        self.maximumFrameBytes = maximumFrameBytes
        self.maximumPixels = maximumPixels
    }

    /// Offers one encoded frame captured at `timeMilliseconds` (the sender's clock, since its start).
    /// Refuses, without disturbing the stream, frames over the size limit, bytes that are not a JPEG and
    /// JPEGs whose header declares more than ``maximumPixels``: a sender's mistake never reaches the
    /// decoder, and a small frame cannot make it allocate gigabytes.
    public func push(_ bytes: Data, capturedAt timeMilliseconds: Double) throws(Rejection) {
        guard bytes.count <= maximumFrameBytes else { throw .tooLarge(bytes: bytes.count, limit: maximumFrameBytes) }
        guard bytes.count > 3, bytes.starts(with: [0xFF, 0xD8, 0xFF]) else { throw .notJPEG }
        let header: ImageHeader
        do {
            header = try ImageHeader(reading: bytes)
        } catch {
            throw .malformed(error.description)
        }
        guard header.pixels <= maximumPixels else {
            throw .tooManyPixels(width: header.width, height: header.height, limit: maximumPixels)
        }
        condition.lock()
        if pending != nil { droppedCount += 1 }
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
        return try Image(encoded: bytes, maximumPixels: maximumPixels, reduction: decodeReduction,
                         source: "\(name) frame \(nextIndex - 1)")
    }
}
