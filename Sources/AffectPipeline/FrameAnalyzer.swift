import AffectCore
import AffectVision

/// One worker's detector and classifier: an image in, faces with expression probabilities out.
///
/// Owns networks, so it is not thread-safe; parallel work uses one analyzer per worker.
public final class FrameAnalyzer {
    public let detector: any FaceDetector
    public let classifier: EmotionClassifier

    /// Milliseconds spent in the last call, per stage.
    public private(set) var lastDetectMilliseconds = 0.0
    public private(set) var lastClassifyMilliseconds = 0.0

    public init(detector: any FaceDetector, classifier: EmotionClassifier) {
        self.detector = detector
        self.classifier = classifier
    }

    /// Builds an analyzer from the verified model catalogue.
    public convenience init(catalog: ModelCatalog, detector kind: DetectorKind,
                            options: EmotionClassifier.Options = .init()) throws {
        try self.init(detector: kind.make(catalog: catalog), classifier: EmotionClassifier(catalog: catalog, options: options))
    }

    /// Detects and classifies every face in `image`; coordinates are in source pixels.
    public func analyze(_ image: Image) throws -> [FaceResult] {
        let (candidates, detectTime) = try timed { try detector.detect(in: image) }
        lastDetectMilliseconds = detectTime
        return try classifyInImagePixels(candidates, in: image)
    }

    /// Classifies faces found earlier (tracked boxes, in source pixels), skipping detection: the
    /// load ladder's cheaper step when a stream's faces move little between frames.
    public func classify(_ candidates: [FaceCandidate], in image: Image) throws -> [FaceResult] {
        try classifyInImagePixels(candidates.map { $0.scaled(by: 1 / image.coordinateScale) }, in: image)
    }

    private func classifyInImagePixels(_ candidates: [FaceCandidate], in image: Image) throws -> [FaceResult] {
        let (faces, classifyTime) = try timed {
            try candidates.map { candidate in
                let emotions = try classifier.classify(candidate, in: image)
                let face = candidate.scaled(by: image.coordinateScale)
                return FaceResult(box: face.box, score: face.score, landmarks: face.landmarks, emotions: emotions)
            }
        }
        lastClassifyMilliseconds = classifyTime
        return faces
    }
}
