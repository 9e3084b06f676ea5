import Foundation

/// The capture wire format: one binary WebSocket message from a participant's page, a 16-byte
/// header and then the frame. Parsed by the server, encoded by `affect bench --websocket` and the
/// tests, here side by side so the two cannot drift.
///
/// | bytes | content |
/// |---|---|
/// | 0..<8 | stimulus media time in ms (IEEE 754 double, little-endian) |
/// | 8..<16 | capture time in ms on the page's own clock (`performance.now()`), same encoding |
/// | 16... | the frame, JPEG |
///
/// Results are stamped with the media time, so every participant's timeline is on the stimulus clock.
public struct FrameMessage: Sendable, Hashable {
    public static let headerBytes = 16

    public var mediaMilliseconds: Double
    public var captureMilliseconds: Double
    public var jpeg: Data

    public init(mediaMilliseconds: Double, captureMilliseconds: Double, jpeg: Data) {
        self.mediaMilliseconds = mediaMilliseconds
        self.captureMilliseconds = captureMilliseconds
        self.jpeg = jpeg
    }

    /// Why a message is not a frame message.
    public enum Malformed: Error, Sendable, Hashable, CustomStringConvertible {
        case shortHeader(bytes: Int)
        case badTime

        public var description: String {
            switch self {
            case .shortHeader(let bytes):
                "a frame message is a 16-byte header (media ms, capture ms) then a JPEG; got \(bytes) bytes"
            case .badTime: "a frame's media and capture times must be finite and non-negative"
            }
        }
    }

    /// Parses a message; the frame bytes are copied out (the caller's buffer can be reused).
    public init(parsing bytes: some Collection<UInt8>) throws(Malformed) {
        guard bytes.count >= Self.headerBytes else { throw .shortHeader(bytes: bytes.count) }
        let header = Array(bytes.prefix(Self.headerBytes))
        func double(at offset: Int) -> Double {
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(header[offset + $1]) << (8 * UInt64($1)) })
        }
        mediaMilliseconds = double(at: 0)
        captureMilliseconds = double(at: 8)
        guard mediaMilliseconds.isFinite, captureMilliseconds.isFinite, mediaMilliseconds >= 0, captureMilliseconds >= 0 else {
            throw .badTime
        }
        jpeg = Data(bytes.dropFirst(Self.headerBytes))
    }

    /// The message as the page sends it.
    public func encoded() -> Data {
        var bytes = Data(capacity: Self.headerBytes + jpeg.count)
        for value in [mediaMilliseconds, captureMilliseconds] {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.append(jpeg)
        return bytes
    }
}
