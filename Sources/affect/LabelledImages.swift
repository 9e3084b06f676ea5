import AffectCore
import AffectVision
import ArgumentParser
import Foundation

/// Scores labelled images the way `affect eval` and `affect bias` both do: each image by its most
/// confident face (or as a whole with no detector), unreadable images skipped and counted.
struct LabelledImages {
    var classifier: EmotionClassifier
    var detector: (any FaceDetector)?
    var maximumPixels: Int

    /// One prediction per readable file, in order (nil: no face found); `unreadable` counts the rest.
    func score(_ files: [(label: Emotion, path: String)], progressLabel: String)
        throws -> (samples: [(index: Int, label: Emotion, prediction: EmotionDistribution?)], unreadable: Int) {
        var samples: [(index: Int, label: Emotion, prediction: EmotionDistribution?)] = []
        var unreadable = 0
        for (index, file) in files.enumerated() {
            Console.progress(progressLabel, done: index, total: files.count)
            let image: Image
            do {
                image = try Image(contentsOf: file.path, maximumPixels: maximumPixels)
            } catch {
                unreadable += 1
                Console.error("skipping \(error)")
                continue
            }
            if let detector {
                let face = try detector.detect(in: image).first
                samples.append((index, file.label, try face.map { try classifier.classify($0, in: image) }))
            } else {
                samples.append((index, file.label, try classifier.classify(wholeImage: image)))
            }
        }
        Console.clearProgress()
        return (samples, unreadable)
    }
}

/// How `affect eval` and `affect bias` read a labelled set: the same flags, so both measure alike.
struct LabelledSetOptions: ParsableArguments {
    @Flag(help: "Use the whole image as the face crop; skip face detection.")
    var noDetect = false

    @OptionGroup(title: "Classification")
    var classification: ClassifierOptions

    @Option(help: "Face detector when detecting: centerface or blazeface.")
    var detector: DetectorKind = .centerface

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    @Option(help: "Largest image to decode, in pixels (width x height; default 64000000); larger ones are skipped.")
    var maxImagePixels = PixelLimit.files

    func validate() throws {
        if !(1...1_000_000_000).contains(maxImagePixels) { throw ValidationError("--max-image-pixels must be 1 to 1000000000") }
    }

    /// The scorer these options describe; `raw` scores without calibration whatever the flags say
    /// (the caller applies the classifier's ``EmotionClassifier/calibration`` itself).
    func scorer(raw: Bool = false) throws -> LabelledImages {
        let catalog = try ModelCatalog(directory: models)
        var options = classification.options
        if raw { options.calibrated = false }
        return LabelledImages(classifier: try EmotionClassifier(catalog: catalog, options: options),
                              detector: noDetect ? nil : try detector.make(catalog: catalog), maximumPixels: maxImagePixels)
    }
}
