import AffectCore
import AffectVision
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure expression accuracy on a folder of labelled face images.",
        discussion: """
        DIR holds one folder per class, named angry/anger, disgust, fear, happy/happiness, \
        neutral, sad/sadness or surprise/surprised. Other folders (such as contempt) are \
        reported and skipped. Each image is scored by its most confident face; an image \
        without a face counts as an error and is reported as no_face. With --no-detect the \
        whole image is the face (for pre-cropped data such as FER2013).

        JSON keys: n, accuracy, macro_f1, per_class (precision, recall, f1, support), \
        confusion (true label -> predicted label -> count), ece (expected calibration \
        error, 15 bins), no_face.

        Example: affect eval ../shared/data/fer2013-publictest --no-detect --tta
        """
    )

    @Argument(help: "Directory with one sub-folder of images per expression class.")
    var directory: String

    @Flag(help: "Use the whole image as the face crop; skip face detection.")
    var noDetect = false

    @OptionGroup(title: "Classification")
    var classification: ClassifierOptions

    @Option(help: "Face detector when detecting: centerface or blazeface.")
    var detector: DetectorKind = .centerface

    @Option(help: "Output format: json or text.")
    var format: TextOrJSON = .json

    @Option(help: "Directory holding manifest.json and the models (default: found automatically).")
    var models: String?

    @Option(help: "Largest image to decode, in pixels (width x height; default 64000000); larger ones are skipped.")
    var maxImagePixels = PixelLimit.files

    func validate() throws {
        if !(1...1_000_000_000).contains(maxImagePixels) { throw ValidationError("--max-image-pixels must be 1 to 1000000000") }
    }

    func run() throws {
        try CommandFailure.reporting {
            let folders = try Self.classFolders(in: directory)
            let catalog = try ModelCatalog(directory: models)
            let classifier = try EmotionClassifier(catalog: catalog, options: classification.options)
            let faceDetector = noDetect ? nil : try detector.make(catalog: catalog)
            let files = folders.flatMap { folder in
                Self.imageFiles(in: folder.path).map { (label: folder.label, path: $0) }
            }
            guard !files.isEmpty else {
                throw VisionError.inputUnreadable(path: directory, reason: "the class folders hold no images")
            }
            var samples: [(label: Emotion, prediction: EmotionDistribution?)] = []
            var unreadable = 0
            for (index, file) in files.enumerated() {
                Console.progress("eval", done: index, total: files.count)
                let image: Image
                do {
                    image = try Image(contentsOf: file.path, maximumPixels: maxImagePixels)
                } catch {
                    unreadable += 1
                    Console.error("skipping \(error)")
                    continue
                }
                if let faceDetector {
                    let face = try faceDetector.detect(in: image).first
                    samples.append((file.label, try face.map { try classifier.classify($0, in: image) }))
                } else {
                    samples.append((file.label, try classifier.classify(wholeImage: image)))
                }
            }
            Console.clearProgress()
            let report = ClassificationReport(samples: samples)
            switch format {
            case .json:
                try JSONOutput.print(report)
            case .text:
                print(Self.describe(report))
            }
            if unreadable > 0 { Console.info("\(unreadable) unreadable images skipped") }
        }
    }

    /// The labelled sub-folders of `directory`; unknown ones are reported on stderr.
    static func classFolders(in directory: String) throws -> [(label: Emotion, path: String)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw VisionError.inputMissing(path: directory)
        }
        guard isDirectory.boolValue else { throw VisionError.inputUnreadable(path: directory, reason: "not a directory") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var folders: [(label: Emotion, path: String)] = []
        for entry in entries.sorted() where !entry.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(entry)
            var entryIsDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &entryIsDirectory),
                  entryIsDirectory.boolValue else { continue }
            if let label = Emotion(label: entry) {
                folders.append((label, path))
            } else {
                Console.info("skipping folder \(entry): not one of the seven expression classes")
            }
        }
        guard !folders.isEmpty else {
            throw VisionError.inputUnreadable(path: directory,
                                              reason: "no class folders (expected sub-folders such as angry, happy, neutral)")
        }
        return folders
    }

    static func imageFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let extensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff", "pgm", "ppm"]
        return names.sorted()
            .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    static func describe(_ report: ClassificationReport) -> String {
        var lines = [String(format: "n %d  accuracy %.4f  macro-F1 %.4f  ECE %.4f  no face %d",
                            report.n, report.accuracy, report.macroF1, report.ece, report.noFace),
                     "class       precision  recall   f1      support"]
        for emotion in Emotion.allCases {
            guard let metrics = report.perClass[emotion.rawValue] else { continue }
            let name = emotion.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
            lines.append(name + String(format: "  %.3f      %.3f    %.3f   %d", metrics.precision, metrics.recall,
                                       metrics.f1, metrics.support))
        }
        return lines.joined(separator: "\n")
    }
}
