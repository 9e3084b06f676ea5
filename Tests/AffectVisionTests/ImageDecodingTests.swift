import AffectTestSupport
import AffectVision
import CVBridge
import Foundation
import Testing

/// JPEGs are decoded by libjpeg itself (for their declared size and warnings), no longer by
/// cv::imdecode: the models must see exactly the pixels they saw before.
@Suite(.enabled(if: TestEnvironment.hasSharedData, "needs ../shared/data"))
struct ImageDecodingTests {
    static let files = ["fer-fixtures/images/justin.jpg", "pyfeat-fixtures/images/multi_face.jpg",
                        "pyfeat-fixtures/images/single_face.jpg", "fer2013-publictest/happy/PublicTest_10130075.jpg"]

    /// Pixels as OpenCV's own decoder gives them.
    static func openCVPixels(_ bytes: Data) throws -> (width: Int, height: Int, bgr: [UInt8]) {
        let handle = try #require(bytes.withUnsafeBytes { cvb_image_decode($0.bindMemory(to: UInt8.self).baseAddress, $0.count) })
        defer { cvb_image_free(handle) }
        let width = Int(cvb_image_width(handle)), height = Int(cvb_image_height(handle))
        var bgr = [UInt8](repeating: 0, count: width * height * 3)
        #expect(bgr.withUnsafeMutableBufferPointer { cvb_image_copy_bgr(handle, $0.baseAddress, $0.count) } == 0)
        return (width, height, bgr)
    }

    @Test(arguments: files)
    func libjpegGivesOpenCVsPixels(_ file: String) throws {
        let path = TestEnvironment.data(file)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let ours = try Image(encoded: bytes, maximumPixels: PixelLimit.files)
        let reference = try Self.openCVPixels(bytes)
        #expect(ours.width == reference.width && ours.height == reference.height)
        #expect(ours.bgrBytes() == reference.bgr, "\(file): identical pixels")
        let header = try ImageHeader(reading: bytes)
        #expect(header.width == reference.width && header.height == reference.height, "the header parser agrees with the decoder")
    }

    @Test func headersOfOtherFormatsAreRead() throws {
        let image = try #require(Image(bgr: [UInt8](repeating: 90, count: 40 * 30 * 3), width: 40, height: 30))
        let jpeg = try image.jpegData()
        #expect(try ImageHeader(reading: jpeg) == ImageHeader(format: .jpeg, width: 40, height: 30))
        // Hand-made headers of the other formats Affect reads.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + [0, 0, 0x7D, 0, 0, 0, 0x7D, 0, 8, 2, 0, 0, 0]
        #expect(try ImageHeader(reading: png) == ImageHeader(format: .png, width: 32000, height: 32000))
        let pnm = Array("P6\n# a comment\n640 480\n255\n".utf8)
        #expect(try ImageHeader(reading: pnm) == ImageHeader(format: .pnm, width: 640, height: 480))
        var bmp = [UInt8](repeating: 0, count: 54)
        bmp[0] = 0x42; bmp[1] = 0x4D; bmp[14] = 40
        bmp[18] = 0x80; bmp[19] = 0x02  // 640
        bmp[22] = 0x20; bmp[23] = 0xFE; bmp[24] = 0xFF; bmp[25] = 0xFF  // -480: top-down rows
        #expect(try ImageHeader(reading: bmp) == ImageHeader(format: .bmp, width: 640, height: 480))
        #expect(throws: ImageHeader.Unreadable.unknownFormat) { try ImageHeader(reading: Array("GIF89a".utf8)) }
        #expect(throws: ImageHeader.Unreadable.malformed(.jpeg)) { try ImageHeader(reading: [0xFF, 0xD8, 0xFF, 0xE0, 0x00]) }
    }

    /// Found by the image-decode fuzzer in its hour-long run (P6): bytes with DICOM's "DICM" at offset 128
    /// sent OpenCV's imdecode to GDCM, whose assertion aborted the whole process. The bridge now passes
    /// OpenCV only the signatures Affect reads; the Swift header check refused this input already.
    @Test func aDICOMSignatureNeverReachesOpenCV() throws {
        let found = try #require(Data(base64Encoded: """
            Av+KqIqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKiooPY4qKioqKioqKioqKioqKioqKio\
            qKioqKioqKioqKioqKioqKioqKioqKiorY/8QASxABAAEAAAAAAAAAAAACRElDTQIAPf/7
            """))
        let bytes = found.dropFirst()  // the harness's first byte picks a reduction
        let handle = bytes.withUnsafeBytes { cvb_image_decode($0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
        #expect(handle == nil)
        #expect(throws: VisionError.self) { try Image(encoded: Data(bytes), maximumPixels: PixelLimit.files) }
        // The same trick behind a PNG signature: OpenCV would try its DICOM decoder before others.
        var png = [UInt8]([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + [UInt8](repeating: 0, count: 200)
        png.replaceSubrange(128..<132, with: Array("DICM".utf8))
        #expect(png.withUnsafeBufferPointer { cvb_image_decode($0.baseAddress, $0.count) } == nil)
    }
}
