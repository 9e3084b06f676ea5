import AffectVision
import ArgumentParser

/// How faces are cropped and classified; shared by analyze and eval so both measure the same thing.
struct ClassifierOptions: ParsableArguments {
    @Flag(help: "Average each face with its mirror image (slower, slightly more accurate).")
    var tta = false

    @Option(help: ArgumentHelp("Square face crop side as a multiple of the detector's box.",
                               discussion: "Ignored with eval --no-detect, where the whole image is the crop."))
    var cropScale: Double = EmotionClassifier.Options().cropScale

    @Flag(help: "Rotate each face crop so the eyes are level before classifying.")
    var align = false

    func validate() throws {
        guard (0.5...3).contains(cropScale) else { throw ValidationError("--crop-scale must be between 0.5 and 3") }
    }

    var options: EmotionClassifier.Options {
        EmotionClassifier.Options(flipAveraging: tta, cropScale: cropScale, alignEyes: align)
    }
}
