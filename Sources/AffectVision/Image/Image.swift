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

    /// Decodes a JPEG, PNG, BMP, WebP, TIFF or PNM image whose header declares at most `maximumPixels`.
    ///
    /// The size is read from the header before anything is decoded, so a small file that declares a huge
    /// picture costs nothing. A JPEG that libjpeg could only partly read (cut short, corrupt data) is
    /// refused rather than returned with made-up grey areas.
    /// - Parameters:
    ///   - reduction: 2, 4 or 8 decodes a JPEG at that fraction of its size (``coordinateScale`` records it).
    ///   - source: named in errors.
    public convenience init(encoded bytes: Data, maximumPixels: Int, reduction: Int = 1, source: String = "image") throws {
        let header: ImageHeader
        do {
            header = try ImageHeader(reading: bytes)
        } catch {
            throw VisionError.imageUnreadable(source: source, reason: error.description)
        }
        guard header.pixels <= maximumPixels else {
            throw VisionError.imageTooLarge(source: source, width: header.width, height: header.height, limit: maximumPixels)
        }
        let scale = [2, 4, 8].contains(reduction) && header.format == .jpeg ? reduction : 1
        var report = cvb_jpeg_report()
        let handle = bytes.withUnsafeBytes { raw -> OpaquePointer? in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            return header.format == .jpeg
                ? cvb_jpeg_decode(base, raw.count, Int32(scale), Int64(maximumPixels), &report)
                : cvb_image_decode(base, raw.count)
        }
        let message = withUnsafeBytes(of: report.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let handle else {
            if report.over_pixel_limit != 0 {
                throw VisionError.imageTooLarge(source: source, width: Int(report.width), height: Int(report.height), limit: maximumPixels)
            }
            throw VisionError.imageUnreadable(source: source, reason: message.isEmpty ? "not a decodable image" : message)
        }
        self.init(handle: handle, coordinateScale: Double(scale))
        if report.warnings > 0 { throw VisionError.imageCorrupt(source: source, reason: message) }
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

    /// Reads and decodes an image file whose header declares at most `maximumPixels`.
    public convenience init(contentsOf path: String, maximumPixels: Int) throws {
        let data = try Image.readInput(path)
        try self.init(encoded: data, maximumPixels: maximumPixels, source: path)
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

    /// A copy resized to `width` x `height`, in memory.
    public func resized(width: Int, height: Int) throws -> Image {
        guard let handle = cvb_image_resize(handle, Int32(width), Int32(height)) else {
            throw VisionError.imageUndecodable(source: "resizing to \(width)x\(height)")
        }
        return Image(handle: handle)
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
