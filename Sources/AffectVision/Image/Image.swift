import CVBridge
import Foundation

/// An 8-bit BGR image held in native memory.
///
/// Pixels exist only in memory: nothing in Affect writes an `Image` to disk,
/// and the memory is zeroed when the image is released.
public final class Image: @unchecked Sendable {
    // Immutable after creation; the bridge never mutates an image it is given.
    let handle: OpaquePointer
    /// Source pixels per image pixel: 1, or 2, 4, 8 for a JPEG decoded at reduced size. Results are
    /// always reported in source pixels, so analysis multiplies its coordinates by this.
    public let coordinateScale: Double

    init(handle: OpaquePointer, coordinateScale: Double = 1) {
        self.handle = handle
        self.coordinateScale = coordinateScale
    }

    deinit {
        cvb_image_free(handle)
    }

    public var width: Int { Int(cvb_image_width(handle)) }
    public var height: Int { Int(cvb_image_height(handle)) }

    /// Decodes JPEG, PNG, BMP, WebP or any other format OpenCV reads.
    /// - Parameter source: named in the error when the bytes do not decode.
    public convenience init(encoded bytes: Data, source: String = "image") throws {
        let handle = bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            return cvb_image_decode(base, raw.count)
        }
        guard let handle else { throw VisionError.imageUndecodable(source: source) }
        self.init(handle: handle)
    }

    /// The image as JPEG bytes, in memory (for pushed-frame sources and their tests; never written to disk here).
    public func jpegData(quality: Int = 90) throws -> Data {
        let needed = cvb_image_encode_jpeg(handle, Int32(quality), nil, 0)
        guard needed < 0 else { throw VisionError.imageUndecodable(source: "JPEG encoding") }
        var bytes = [UInt8](repeating: 0, count: Int(-needed))
        let written = bytes.withUnsafeMutableBufferPointer { cvb_image_encode_jpeg(handle, Int32(quality), $0.baseAddress, $0.count) }
        guard written > 0 else { throw VisionError.imageUndecodable(source: "JPEG encoding") }
        return Data(bytes[0..<Int(written)])
    }

    /// Decodes a JPEG at 1/`reduction` of its size (2, 4 or 8), several times faster than a full
    /// decode; ``coordinateScale`` records the reduction.
    public convenience init(encoded bytes: Data, reduction: Int, source: String = "image") throws {
        guard [2, 4, 8].contains(reduction) else {
            try self.init(encoded: bytes, source: source)
            return
        }
        let handle = bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            return cvb_image_decode_reduced(base, raw.count, Int32(reduction))
        }
        guard let handle else { throw VisionError.imageUndecodable(source: source) }
        self.init(handle: handle, coordinateScale: Double(reduction))
    }

    /// Reads and decodes an image file.
    public convenience init(contentsOf path: String) throws {
        let data = try Image.readInput(path)
        try self.init(encoded: data, source: path)
    }

    /// Converts one planar I420 frame (as in Y4M 4:2:0 streams).
    public convenience init(i420 bytes: Data, width: Int, height: Int, source: String = "frame") throws {
        let handle = bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            return cvb_image_from_i420(base, raw.count, Int32(width), Int32(height))
        }
        guard let handle else { throw VisionError.imageUndecodable(source: source) }
        self.init(handle: handle)
    }

    /// Copies tightly packed BGR pixels (width * height * 3 bytes).
    public convenience init?(bgr bytes: [UInt8], width: Int, height: Int) {
        guard bytes.count == width * height * 3,
              let handle = bytes.withUnsafeBufferPointer({ buffer in
                  buffer.baseAddress.flatMap { cvb_image_from_bgr($0, Int32(width), Int32(height)) }
              }) else { return nil }
        self.init(handle: handle)
    }

    /// A copy of the BGR pixels, row by row.
    public func bgrBytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        _ = bytes.withUnsafeMutableBufferPointer { cvb_image_copy_bgr(handle, $0.baseAddress, $0.count) }
        return bytes
    }

    /// Reads a whole input file, with a clear error for the usual mistakes.
    static func readInput(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VisionError.inputMissing(path: path)
        }
        if isDirectory.boolValue { throw VisionError.inputUnreadable(path: path, reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VisionError.inputUnreadable(path: path, reason: "cannot be read (permissions?)")
        }
        if data.isEmpty { throw VisionError.inputEmpty(path: path) }
        return data
    }
}
