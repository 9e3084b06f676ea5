import Foundation
import NIOCore

/// One binary WebSocket message from the capture page: a 16-byte header, then the JPEG.
///
/// | bytes | content |
/// |---|---|
/// | 0..<8 | stimulus media time in ms (IEEE 754 double, little-endian) |
/// | 8..<16 | capture time in ms on the page's own clock (`performance.now()`), same encoding |
/// | 16... | the frame, JPEG |
///
/// Results are stamped with the media time, so every participant's timeline is on the stimulus clock.
struct IngestFrame {
    static let headerBytes = 16

    var mediaMilliseconds: Double
    var captureMilliseconds: Double
    var jpeg: Data

    enum Malformed: Error, CustomStringConvertible {
        case shortHeader(bytes: Int)
        case badTime

        var description: String {
            switch self {
            case .shortHeader(let bytes):
                "a frame message is a 16-byte header (media ms, capture ms) then a JPEG; got \(bytes) bytes"
            case .badTime: "a frame's media and capture times must be finite and non-negative"
            }
        }
    }

    init(parsing buffer: ByteBuffer) throws(Malformed) {
        guard buffer.readableBytes >= Self.headerBytes,
              let media = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt64.self),
              let capture = buffer.getInteger(at: buffer.readerIndex + 8, endianness: .little, as: UInt64.self) else {
            throw .shortHeader(bytes: buffer.readableBytes)
        }
        mediaMilliseconds = Double(bitPattern: media)
        captureMilliseconds = Double(bitPattern: capture)
        guard mediaMilliseconds.isFinite, captureMilliseconds.isFinite, mediaMilliseconds >= 0, captureMilliseconds >= 0 else {
            throw .badTime
        }
        jpeg = Data(buffer.readableBytesView.dropFirst(Self.headerBytes))
    }
}
