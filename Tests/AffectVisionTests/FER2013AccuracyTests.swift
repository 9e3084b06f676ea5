import AffectCore
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// The emotion model must reproduce its reference accuracy on FER2013 PublicTest
/// (whole image as the face): 0.652, and 0.665 with mirror averaging (../shared/data/README.md);
/// and its calibration must hold on the half of the set it was not fitted on.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct FER2013AccuracyTests {
    /// Raw (uncalibrated) predictions, each with its position in its class folder in file-name order,
    /// which is how `affect eval --half` splits the set (even positions fit, odd ones held out).
    func predictions(flipAveraging: Bool) throws -> (classifier: EmotionClassifier,
                                                      samples: [(label: Emotion, prediction: EmotionDistribution, position: Int)]) {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let classifier = try EmotionClassifier(catalog: catalog, options: .init(flipAveraging: flipAveraging, calibrated: false))
        let root = TestEnvironment.data("fer2013-publictest")
        var samples: [(label: Emotion, prediction: EmotionDistribution, position: Int)] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            guard let label = Emotion(label: folder) else { continue }
            let directory = root + "/" + folder
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jpg") }.sorted()
            for (position, file) in files.enumerated() {
                let image = try Image(contentsOf: directory + "/" + file, maximumPixels: PixelLimit.files)
                samples.append((label, try classifier.classify(wholeImage: image), position))
            }
        }
        return (classifier, samples)
    }

    func report(_ samples: [(label: Emotion, prediction: EmotionDistribution, position: Int)],
                scaling: TemperatureScaling? = nil) -> ClassificationReport {
        ClassificationReport(samples: samples.map { ($0.label, scaling?.apply($0.prediction) ?? $0.prediction) })
    }

    /// The default (one pass) and `--tta` (mirror averaging), each with its own pinned temperature.
    @Test(arguments: [false, true])
    func accuracyMatchesReferenceAndCalibrationHoldsOnTheHeldOutHalf(flipAveraging: Bool) throws {
        let (classifier, samples) = try predictions(flipAveraging: flipAveraging)
        let result = report(samples)
        #expect(result.n == 3589)
        let (accuracy, macroF1) = flipAveraging ? (0.665, 0.635) : (0.652, 0.617)
        #expect(abs(result.accuracy - accuracy) <= 0.005, "accuracy \(result.accuracy)")
        #expect(abs(result.macroF1 - macroF1) <= 0.005, "macro-F1 \(result.macroF1)")

        let scaling = try #require(classifier.calibration, "the manifest carries the emotion model's temperature")
        let fitHalf = samples.filter { $0.position % 2 == 0 }, heldOut = samples.filter { $0.position % 2 == 1 }
        // The pinned temperature is what fitting the fit half gives today.
        let refitted = TemperatureScaling.fit(fitHalf.map { ($0.label, $0.prediction) })
        #expect(abs(refitted.temperature - scaling.temperature) < 0.01, "refit \(refitted.temperature), pinned \(scaling.temperature)")
        let before = report(heldOut), after = report(heldOut, scaling: scaling)
        #expect(after.ece <= 0.03, "held-out ECE \(after.ece) after calibration (\(before.ece) before)")
        #expect(after.ece < before.ece)
        #expect(after.accuracy == before.accuracy, "temperature scaling never changes the top class")
    }
}
