import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// cv::dnn running the converted ONNX model must agree with an independent numpy
/// forward pass over the original Keras weights (scripts/models/reference_emotion.py)
/// on the exact tensors the engine builds from real faces.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct EmotionReferenceTests {
    @Test func engineMatchesNumpyForwardPassOnRealFaces() throws {
        let python = TestEnvironment.packageRoot.appendingPathComponent(".venv-models/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "run scripts/bootstrap first")
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        // The network itself: one pass, raw probabilities (no flip averaging, no calibration).
        let classifier = try EmotionClassifier(catalog: catalog, options: .init(flipAveraging: false, calibrated: false))
        let encoding = TensorEncoding(colour: .grey, scale: 2.0 / 255.0, offset: -1)
        var inputs: [[Float]] = []
        var engine: [EmotionDistribution] = []
        for folder in ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] {
            let directory = TestEnvironment.data("fer2013-publictest/\(folder)")
            for file in try FileManager.default.contentsOfDirectory(atPath: directory).sorted().prefix(3) {
                let image = try Image(contentsOf: directory + "/" + file, maximumPixels: PixelLimit.files)
                let box = Box(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
                inputs.append(try image.tensor(crop: box, width: 64, height: 64, encoding: encoding))
                engine.append(try classifier.classify(wholeImage: image))
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestEnvironment.packageRoot.appendingPathComponent("scripts/models/reference_emotion.py").path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: JSONSerialization.data(withJSONObject: ["inputs": inputs]))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let reference = try #require(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["probabilities"] as? [[Double]])
        #expect(reference.count == engine.count)
        var worst = 0.0
        for (expected, got) in zip(reference, engine) {
            for emotion in Emotion.allCases { worst = max(worst, abs(expected[emotion.index] - got[emotion])) }
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
    }
}
