import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// The emotion model must reproduce its reference accuracy on FER2013 PublicTest
/// (whole image as the face): 0.652, and 0.665 with mirror averaging (../shared/data/README.md).
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct FER2013AccuracyTests {
    func report(flipAveraging: Bool) throws -> ClassificationReport {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let classifier = try EmotionClassifier(catalog: catalog, options: .init(flipAveraging: flipAveraging))
        let root = TestEnvironment.data("fer2013-publictest")
        var samples: [(label: Emotion, prediction: EmotionDistribution?)] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            guard let label = Emotion(label: folder) else { continue }
            let directory = root + "/" + folder
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".jpg") {
                let image = try Image(contentsOf: directory + "/" + file, maximumPixels: PixelLimit.files)
                samples.append((label, try classifier.classify(wholeImage: image)))
            }
        }
        return ClassificationReport(samples: samples)
    }

    @Test func plainAccuracyMatchesReference() throws {
        let result = try report(flipAveraging: false)
        #expect(result.n == 3589)
        #expect(abs(result.accuracy - 0.652) <= 0.005, "accuracy \(result.accuracy)")
        #expect(abs(result.macroF1 - 0.617) <= 0.005, "macro-F1 \(result.macroF1)")
    }

    @Test func mirrorAveragingMatchesReference() throws {
        let result = try report(flipAveraging: true)
        #expect(abs(result.accuracy - 0.665) <= 0.005, "accuracy \(result.accuracy)")
        #expect(abs(result.macroF1 - 0.635) <= 0.005, "macro-F1 \(result.macroF1)")
    }
}
