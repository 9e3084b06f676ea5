import AffectCore
import AffectVision

/// One worker's detector, classifier and, when asked, landmark stage: an image in, faces with
/// expression probabilities (and measures) out.
///
/// Owns networks, so it is not thread-safe; parallel work uses one analyzer per worker.
public final class FrameAnalyzer {
    public let detector: any FaceDetector
    public let classifier: EmotionClassifier
    /// The landmark stage, when measures are asked for.
    public let measurer: FaceMeasurer?

    /// Milliseconds spent in the last call, per stage.
    public private(set) var lastDetectMilliseconds = 0.0
    public private(set) var lastClassifyMilliseconds = 0.0
    public private(set) var lastMeasureMilliseconds = 0.0

    public init(detector: any FaceDetector, classifier: EmotionClassifier, measurer: FaceMeasurer? = nil) {
        self.detector = detector
        self.classifier = classifier
        self.measurer = measurer
    }

    /// Builds an analyzer from the verified model catalogue; `measures` adds the landmark stage.
    public convenience init(catalog: ModelCatalog, detector kind: DetectorKind,
                            options: EmotionClassifier.Options = .init(), measures: Bool = false) throws {
        try self.init(detector: kind.make(catalog: catalog), classifier: EmotionClassifier(catalog: catalog, options: options),
                      measurer: measures ? FaceMeasurer(catalog: catalog) : nil)
    }

    /// Detects and classifies every face in `image`, and measures it when the analyzer has the landmark
    /// stage and `measures` is on; coordinates are in source pixels.
    public func analyze(_ image: Image, measures: Bool = true) throws -> [FaceResult] {
        let (candidates, detectTime) = try timed { try detector.detect(in: image) }
        lastDetectMilliseconds = detectTime
        return try classifyInImagePixels(candidates, in: image, measures: measures)
    }

    /// Classifies faces found earlier (tracked boxes, in source pixels), skipping detection: the
    /// load ladder's cheaper step when a stream's faces move little between frames.
    public func classify(_ candidates: [FaceCandidate], in image: Image, measures: Bool = true) throws -> [FaceResult] {
        try classifyInImagePixels(candidates.map { $0.scaled(by: 1 / image.coordinateScale) }, in: image, measures: measures)
    }

    private func classifyInImagePixels(_ candidates: [FaceCandidate], in image: Image, measures wanted: Bool) throws -> [FaceResult] {
        let (emotions, classifyTime) = try timed { try candidates.map { try classifier.classify($0, in: image) } }
        lastClassifyMilliseconds = classifyTime
        let (measures, measureTime) = try timed { () -> [FaceMeasures?] in
            guard let measurer, wanted else { return candidates.map { _ in nil } }
            return try candidates.map { try measurer.measures(of: $0, in: image) }
        }
        lastMeasureMilliseconds = measureTime
        return candidates.indices.map { index in
            let face = candidates[index].scaled(by: image.coordinateScale)
            return FaceResult(box: face.box, score: face.score, landmarks: face.landmarks, emotions: emotions[index],
                              measures: measures[index])
        }
    }
}
