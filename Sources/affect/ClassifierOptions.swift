import AffectVision
import ArgumentParser

/// How faces are cropped and classified; shared by analyze and eval so both measure the same thing.
struct ClassifierOptions: ParsableArguments {
    @Flag(help: ArgumentHelp("Average each face with its mirror image: 1 point more accurate, twice the classifier's cost.",
                             discussion: "Calibrated with its own temperature (docs/model-card.md)."))
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
    }

    var options: EmotionClassifier.Options {
        EmotionClassifier.Options(flipAveraging: tta, cropScale: cropScale, alignEyes: align, calibrated: !uncalibrated)
    }
}
