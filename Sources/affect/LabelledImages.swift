import AffectCore
import AffectVision
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
