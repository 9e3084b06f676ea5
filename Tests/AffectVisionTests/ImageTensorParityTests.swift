import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import InferenceKernel
import Testing

/// The kernel's pixels-to-tensor step (`akw_rgba_to_tensor`, what participants' pages run before
/// the networks) against the server's (`Image.tensor`, OpenCV's crop, resize and colour conversion)
/// on real frames: the crops the detector and the classifier make, and crops chosen to take every
/// path of OpenCV's resize (halving, whole and fractional area factors, enlarging, crops reaching
/// outside the image). Compared in pixel levels (0 to 255).
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct ImageTensorParityTests {
    struct Comparison {
        var values = 0
        var differing = 0
        var largest = 0

        mutating func add(kernel: [Float], server: [Float], scale: Float, label: String) {
            guard kernel.count == server.count else {
                Issue.record("\(label): \(kernel.count) values against \(server.count)")
                return
            }
            for (a, b) in zip(kernel, server) {
                let levels = Int(((a - b) / scale).rounded())
                values += 1
                if levels != 0 { differing += 1 }
                largest = max(largest, abs(levels))
            }
        }
    }

    static func rgba(_ image: Image) -> [UInt8] {
        let bgr = image.bgrBytes()
        var rgba = [UInt8](repeating: 255, count: image.width * image.height * 4)
        for pixel in 0..<(image.width * image.height) {
            rgba[pixel * 4] = bgr[pixel * 3 + 2]
            rgba[pixel * 4 + 1] = bgr[pixel * 3 + 1]
            rgba[pixel * 4 + 2] = bgr[pixel * 3]
        }
        return rgba
    }

    /// The kernel's tensor for the same crop, rounded the way `Image.tensor` rounds it.
    static func kernelTensor(_ pixels: [UInt8], width: Int, height: Int, crop: Box, size: Int, encoding: TensorEncoding,
                             area: Bool) throws -> [Float] {
        let grey = encoding.colour == .grey
        var out = [Float](repeating: .nan, count: (grey ? 1 : 3) * size * size)
        let status = pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                akw_rgba_to_tensor(source.baseAddress, Int32(width), Int32(height), Int32(crop.x.rounded()),
                                   Int32(crop.y.rounded()), Int32(crop.width.rounded()), Int32(crop.height.rounded()),
                                   Int32(size), Int32(size), grey ? Int32(AKW_TENSOR_GREY) : Int32(AKW_TENSOR_RGB),
                                   area ? Int32(AKW_RESAMPLE_AREA) : Int32(AKW_RESAMPLE_LINEAR), encoding.scale,
                                   encoding.offset, target.baseAddress)
            }
        }
        #expect(status == 0, "akw_rgba_to_tensor refused \(crop)")
        return out
    }

    static func images() throws -> [(name: String, image: Image)] {
        var images = try KernelParityTests.frames()
        for name in ["multi_face.jpg", "single_face.jpg", "sad_asian.jpg"] {
            images.append((name, try Image(contentsOf: TestEnvironment.data("pyfeat-fixtures/images/\(name)"), maximumPixels: PixelLimit.files)))
        }
        return images
    }

    @Test func cropsResizeAndGreyLikeOpenCV() throws {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let detector = try DetectorKind.blazeface.make(catalog: catalog)
        let rgb = TensorEncoding(colour: .rgb, scale: 2.0 / 255.0, offset: -1)
        let grey = TensorEncoding(colour: .grey, scale: 2.0 / 255.0, offset: -1)
        var byPath: [String: Comparison] = [:]
        func compare(_ path: String, _ image: Image, _ pixels: [UInt8], crop: Box, size: Int, encoding: TensorEncoding,
                     area: Bool, label: String) throws {
            let server = try image.tensor(crop: crop, width: size, height: size, encoding: encoding,
                                          interpolation: area ? .area : .linear)
            let kernel = try Self.kernelTensor(pixels, width: image.width, height: image.height, crop: crop, size: size,
                                               encoding: encoding, area: area)
            byPath[path, default: Comparison()].add(kernel: kernel, server: server, scale: encoding.scale, label: label)
        }
        for (name, image) in try Self.images() {
            let pixels = Self.rgba(image)
            let (width, height) = (Double(image.width), Double(image.height))
            // BlazeFace's letterbox (BlazeFaceDetector).
            let side = max(width, height)
            let square = Box(x: ((width - side) / 2).rounded(), y: ((height - side) / 2).rounded(), width: side, height: side)
            try compare("letterbox", image, pixels, crop: square, size: 128, encoding: rgb, area: false, label: name)
            // The classifier's crop of every face (EmotionClassifier).
            for face in try detector.detect(in: image) {
                let side = max(face.box.width, face.box.height) * EmotionClassifier.Options().cropScale
                let crop = Box(x: face.box.center.x - side / 2, y: face.box.center.y - side / 2, width: side, height: side)
                try compare("face crop", image, pixels, crop: crop, size: 64, encoding: grey, area: side > 128, label: name)
            }
            // Every path of the resize, on this image's pixels.
            let paths: [(String, Box, Bool)] = [
                ("halving", Box(x: 13, y: 7, width: 128, height: 128), false),
                ("area x3", Box(x: 5, y: 21, width: 192, height: 192), true),
                ("area x2.34", Box(x: 31, y: 17, width: 150, height: 150), true),
                ("area x4.5", Box(x: 0, y: 0, width: 288, height: 288), true),
                ("enlarging", Box(x: 40, y: 60, width: 41, height: 41), false),
                ("linear x1.7", Box(x: 3, y: 9, width: 109, height: 109), false),
                ("outside", Box(x: -23, y: height - 70, width: 101, height: 101), false),
                ("outside, area", Box(x: width - 120, y: -40, width: 170, height: 170), true),
            ]
            for (path, crop, area) in paths {
                try compare(path, image, pixels, crop: crop, size: 64, encoding: grey, area: area, label: "\(name) \(path)")
                try compare(path + " rgb", image, pixels, crop: crop, size: 64, encoding: rgb, area: area, label: "\(name) \(path)")
            }
        }
        for (path, comparison) in byPath.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data(("image tensor parity: \(path): \(comparison.differing) of \(comparison.values) "
                + "values differ, by at most \(comparison.largest) levels\n").utf8))
            // Measured bit-exact on Debian's OpenCV 4.6; a level here and there (another CPU's dispatch)
            // would still leave the networks' outputs far inside their tolerance.
            #expect(comparison.values > 0)
            #expect(comparison.largest <= 1, "\(path): a value differs by \(comparison.largest) levels")
            #expect(comparison.differing * 1000 <= comparison.values, "\(path): \(comparison.differing) values differ")
        }
    }

    /// Every pixel of a 256x256 image of random colours (no resize): cvtColor's weights and rounding.
    @Test func greyMatchesCvtColor() throws {
        var generator = SeededGenerator(seed: 17)
        let bgr = (0..<(256 * 256 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let image = try #require(Image(bgr: bgr, width: 256, height: 256))
        let encoding = TensorEncoding(colour: .grey, scale: 1, offset: 0)
        let whole = Box(x: 0, y: 0, width: 256, height: 256)
        var comparison = Comparison()
        comparison.add(kernel: try Self.kernelTensor(Self.rgba(image), width: 256, height: 256, crop: whole, size: 256,
                                                     encoding: encoding, area: false),
                       server: try image.tensor(crop: whole, width: 256, height: 256, encoding: encoding),
                       scale: 1, label: "random colours")
        #expect(comparison.differing == 0, "\(comparison.differing) of \(comparison.values) pixels turn another grey")
    }

    @Test func sizesOutOfRangeAreRefused() {
        let pixels = [UInt8](repeating: 7, count: 16 * 16 * 4)
        var out = [Float](repeating: 0, count: 3 * 64 * 64)
        func status(width: Int32 = 16, height: Int32 = 16, crop: (Int32, Int32, Int32, Int32) = (0, 0, 16, 16),
                    size: Int32 = 64, colour: Int32 = Int32(AKW_TENSOR_RGB)) -> Int32 {
            pixels.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { target in
                    akw_rgba_to_tensor(source.baseAddress, width, height, crop.0, crop.1, crop.2, crop.3, size, size, colour,
                                       Int32(AKW_RESAMPLE_LINEAR), 1, 0, target.baseAddress)
                }
            }
        }
        #expect(status() == 0)
        #expect(out.allSatisfy { $0 == 7 })
        #expect(status(width: 0) == -1)
        #expect(status(crop: (0, 0, 0, 16)) == -1)
        #expect(status(crop: (0, 0, 16, 1 << 20)) == -1)
        #expect(status(size: 2048) == -1)
        #expect(status(colour: 9) == -1)
    }
}
