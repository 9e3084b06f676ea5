import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// The inference kernel (what participants' browsers run in device analysis) against cv::dnn (what
/// the server runs), on the same input tensors made from real frames: every output of both models
/// within 1e-4, relative to the value where it exceeds 1 (BlazeFace's logits reach -100 for anchors
/// without a face; there float sums in another order differ by about 1.4e-4, 14 units in the last
/// place). The tensors are the ones the server's own detector and classifier make, so this is the
/// check that device and server analysis score the same pixels alike.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct KernelParityTests {
    static let tolerance: Float = 1e-4

    /// Two frames of each talking-head clip (its first, and one 4 s in), decoded as the server decodes them.
    static func frames() throws -> [(name: String, image: Image)] {
        var frames: [(String, Image)] = []
        for clip in TalkingHeadTests.clips {
            let source = try VideoInput(parsing: TestEnvironment.data("talking-heads/\(clip).mp4")).open()
            var index = 0
            while try source.advance() != nil {
                if index == 0 || index == 100 { frames.append(("\(clip)#\(index)", try source.currentImage())) }
                if index == 100 { break }
                index += 1
            }
        }
        return frames
    }

    /// The largest difference between the two, each scaled by the reference value's magnitude where
    /// that exceeds 1, and which output and value it was.
    static func largestDifference(_ kernel: [String: [Float]], _ reference: [String: Tensor]) -> (Float, String) {
        var worst: (Float, String) = (0, "")
        for (name, values) in kernel {
            guard let expected = reference[name]?.values, expected.count == values.count else { return (.infinity, "\(name): missing or misshapen") }
            for (a, b) in zip(values, expected) {
                let difference = abs(a - b) / max(1, abs(b))
                if difference > worst.0 || a.isNaN { worst = (a.isNaN ? .nan : difference, "\(name) (\(b))") }
            }
        }
        return worst
    }

    /// The model in cv::dnn and in the kernel, both from the verified catalogue.
    static func networks(_ name: String) throws -> (catalog: ModelCatalog, reference: Network, kernel: KernelNetwork) {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let reference = try Network(path: try catalog.verifiedModel(named: name).path, name: name)
        let kernel = try KernelNetwork(program: try catalog.verifiedKernelProgram(named: name).bytes, name: name)
        return (catalog, reference, kernel)
    }

    @Test func blazeFaceMatchesCVDNN() throws {
        let (_, reference, kernel) = try Self.networks(ModelCatalog.Name.blazeFace)
        #expect(kernel.inputShape == (3, 128, 128) && Set(kernel.outputNames) == Set(reference.outputNames))
        let encoding = TensorEncoding(colour: .rgb, scale: 2.0 / 255.0, offset: -1)
        var worst: Float = 0
        for (name, image) in try Self.frames() {
            // BlazeFaceDetector's letterbox.
            let side = Double(max(image.width, image.height))
            let square = Box(x: ((Double(image.width) - side) / 2).rounded(), y: ((Double(image.height) - side) / 2).rounded(),
                             width: side, height: side)
            let tensor = try image.tensor(crop: square, width: 128, height: 128, encoding: encoding)
            let (difference, output) = Self.largestDifference(try kernel.forward(tensor), try reference.forward(tensor, shape: (1, 3, 128, 128)))
            #expect(difference <= Self.tolerance, "\(name): \(output) differs by \(difference)")
            worst = max(worst, difference)
        }
        #expect(worst > 0, "two implementations that never differ by a bit would be suspicious: is the kernel running?")
        FileHandle.standardError.write(Data("kernel parity: BlazeFace largest difference from cv::dnn \(worst)\n".utf8))
    }

    @Test func miniXceptionMatchesCVDNN() throws {
        let (catalog, reference, kernel) = try Self.networks(ModelCatalog.Name.emotion)
        #expect(kernel.inputShape == (1, 64, 64) && kernel.outputNames == reference.outputNames)
        let detector = try DetectorKind.blazeface.make(catalog: catalog)
        let encoding = TensorEncoding(colour: .grey, scale: 2.0 / 255.0, offset: -1)
        var worst: Float = 0, faces = 0
        for (name, image) in try Self.frames() {
            // EmotionClassifier's crop of each face the detector finds.
            for face in try detector.detect(in: image) {
                let side = max(face.box.width, face.box.height) * EmotionClassifier.Options().cropScale
                let crop = Box(x: face.box.center.x - side / 2, y: face.box.center.y - side / 2, width: side, height: side)
                let tensor = try image.tensor(crop: crop, width: 64, height: 64, encoding: encoding,
                                              interpolation: side > 128 ? .area : .linear)
                let outputs = try kernel.forward(tensor)
                let (difference, output) = Self.largestDifference(outputs, try reference.forward(tensor, shape: (1, 1, 64, 64)))
                #expect(difference <= Self.tolerance, "\(name): \(output) differs by \(difference)")
                let sum = outputs.values.first?.reduce(0, +) ?? 0
                #expect(abs(sum - 1) < 1e-5, "\(name): probabilities sum to \(sum)")
                worst = max(worst, difference)
                faces += 1
            }
        }
        #expect(faces >= 12, "a face in each frame")
        FileHandle.standardError.write(Data("kernel parity: mini-Xception largest difference from cv::dnn \(worst) over \(faces) faces\n".utf8))
    }

    @Test func aDamagedProgramIsRefused() throws {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let bytes = try catalog.verifiedKernelProgram(named: ModelCatalog.Name.emotion).bytes
        #expect(throws: VisionError.self) { try KernelNetwork(program: bytes.prefix(bytes.count - 4), name: "cut short") }
        var reaching = bytes
        // The first operation's output offset (word 3 after the header, one output and the count):
        // pointed past the arena, the program is refused rather than run.
        let operationStart = (8 + 10 + 1) * 4
        reaching.replaceSubrange((operationStart + 12)..<(operationStart + 16), with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: VisionError.self) { try KernelNetwork(program: reaching, name: "out of bounds") }
        var unknown = bytes
        unknown.replaceSubrange(operationStart..<(operationStart + 4), with: [99, 0, 0, 0])
        #expect(throws: VisionError.self) { try KernelNetwork(program: unknown, name: "unknown operation") }
        _ = try KernelNetwork(program: bytes, name: "intact")
    }
}
