import AffectVision
import ArgumentParser

/// How faces are cropped and classified; shared by analyze and eval so both measure the same thing.
struct ClassifierOptions: ParsableArguments {
    @Flag(name: .customLong("no-tta"), help: ArgumentHelp("Classify each face once instead of averaging it with its mirror image.",
                                                          discussion: "Flip averaging is on by default: it measured 1 point more accurate on the dev set."))
    var noTTA = false

    @Flag(help: "Accepted for compatibility: flip averaging is now the default.")
    var tta = false

    @Flag(help: ArgumentHelp("Report the model's raw probabilities, without the manifest's temperature scaling.",
                             discussion: "Calibrated probabilities match how often the model is right; raw ones are over-confident."))
    var uncalibrated = false

    @Option(help: ArgumentHelp("Square face crop side as a multiple of the detector's box.",
                               discussion: "Ignored with eval --no-detect, where the whole image is the crop."))
    var cropScale: Double = EmotionClassifier.Options().cropScale

    @Flag(help: "Rotate each face crop so the eyes are level before classifying.")
    var align = false

    func validate() throws {
        guard (0.5...3).contains(cropScale) else { throw ValidationError("--crop-scale must be between 0.5 and 3") }
        if tta && noTTA { throw ValidationError("--tta and --no-tta exclude each other") }
    }

    var options: EmotionClassifier.Options {
        EmotionClassifier.Options(flipAveraging: !noTTA, cropScale: cropScale, alignEyes: align, calibrated: !uncalibrated)
    }
}
