import AffectCore
import AffectReport
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
        error, 15 bins), reliability (the bins behind it), no_face, ece_uncalibrated and \
        temperature (the manifest's calibration; scores are calibrated unless --uncalibrated).

        --half splits each class folder in file-name order: the 1st, 3rd, 5th... image form the \
        fit half, the 2nd, 4th... the held-out half. The manifest's temperature was fitted on the \
        fit half of FER2013 PublicTest with --fit-temperature; ECE on the held-out half is the \
        honest figure.

        Examples:
          affect eval ../shared/data/fer2013-publictest --no-detect --half held-out --report calibration.html
          affect eval ../shared/data/fer2013-publictest --no-detect --half fit --fit-temperature
        """
    )

    enum Half: String, ExpressibleByArgument, CaseIterable {
        case all, fit
        case heldOut = "held-out"

        /// Whether the image at `position` (0-based, file-name order) of its class folder belongs.
        func contains(position: Int) -> Bool {
            switch self {
            case .all: true
            case .fit: position % 2 == 0
            case .heldOut: position % 2 == 1
            }
        }
    }

    @Option(help: "Which images of each class folder to use: all, fit (1st, 3rd, ...) or held-out (2nd, 4th, ...).")
    var half: Half = .all

    @Flag(help: "Fit a temperature to the raw probabilities of these images and print it as fitted_temperature.")
    var fitTemperature = false

    @Option(help: ArgumentHelp("Also write an HTML page with the reliability diagram before and after calibration.",
                               valueName: "FILE.html"))
    var report: String?

    @Flag(help: "Replace a --report file that already exists.")
    var overwrite = false

    @Argument(help: "Directory with one sub-folder of images per expression class.")
    var directory: String

    @OptionGroup
    var scoring: LabelledSetOptions

    @Option(help: "Output format: json or text.")
    var format: TextOrJSON = .json

    func run() throws {
        try CommandFailure.reporting {
            let folders = try Self.classFolders(in: directory)
            // Raw probabilities are collected once; calibration is applied to them below, so both are reported.
            let scorer = try scoring.scorer(raw: true)
            let scaling = scoring.classification.options.calibrated ? scorer.classifier.calibration : nil
            let files = folders.flatMap { folder in
                Self.imageFiles(in: folder.path).enumerated().filter { half.contains(position: $0.offset) }
                    .map { (label: folder.label, path: $0.element) }
            }
            let reportFile = try report.map { try OutputFile(path: $0, overwrite: overwrite) }
            guard !files.isEmpty else {
                throw VisionError.inputUnreadable(path: directory, reason: "the class folders hold no images")
            }
            let scored = try scorer.score(files, progressLabel: "eval")
            let samples = scored.samples.map { (label: $0.label, prediction: $0.prediction) }
            let unreadable = scored.unreadable
            let raw = ClassificationReport(samples: samples)
            let calibrated = ClassificationReport(samples: samples.map { ($0.label, $0.prediction.map { scaling?.apply($0) ?? $0 }) })
            let fitted = fitTemperature
                ? TemperatureScaling.fit(samples.compactMap { sample in sample.prediction.map { (sample.label, $0) } }) : nil
            let result = EvaluationResult(report: calibrated, eceUncalibrated: raw.ece, temperature: scaling?.temperature,
                                          fittedTemperature: fitted?.temperature)
            switch format {
            case .json:
                try JSONOutput.print(result)
            case .text:
                print(Self.describe(calibrated))
                if let scaling {
                    print(String(format: "calibrated with temperature %.4f: ECE %.4f before, %.4f after", scaling.temperature,
                                 raw.ece, calibrated.ece))
                }
                if let fitted { print(String(format: "fitted temperature %.4f", fitted.temperature)) }
            }
            if let reportFile {
                try reportFile.writeLine(CalibrationPage(title: "Calibration on \((directory as NSString).lastPathComponent)",
                                                         subtitle: "\(half.rawValue) images, \(raw.n) scored",
                                                         raw: raw, calibrated: scaling == nil ? nil : calibrated,
                                                         temperature: scaling?.temperature).html())
                try reportFile.close()
            }
            if scaling != nil || fitted != nil {
                Console.info(String(format: "ECE %.4f uncalibrated, %.4f calibrated", raw.ece, calibrated.ece))
            }
            if unreadable > 0 { Console.info("\(unreadable) unreadable images skipped") }
        }
    }

    /// The report with the calibration figures beside its own keys.
    struct EvaluationResult: Encodable {
        var report: ClassificationReport
        var eceUncalibrated: Double
        var temperature: Double?
        var fittedTemperature: Double?

        enum CodingKeys: String, CodingKey {
            case eceUncalibrated = "ece_uncalibrated", temperature, fittedTemperature = "fitted_temperature"
        }

        func encode(to encoder: Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(eceUncalibrated, forKey: .eceUncalibrated)
            try container.encodeIfPresent(temperature, forKey: .temperature)
            try container.encodeIfPresent(fittedTemperature, forKey: .fittedTemperature)
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
