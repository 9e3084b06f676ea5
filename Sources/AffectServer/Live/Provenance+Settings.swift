import AffectCore
import AffectPipeline
import AffectStore
import AffectVision

extension Provenance {
    /// The models and settings that shape scores, as recorded with every session (CLI and server alike),
    /// so each score can be traced to them.
    public static func of(catalog: ModelCatalog, detector: DetectorKind, policy: SamplingPolicy,
                   classifier: EmotionClassifier.Options, tracking: Bool, halfLifeMilliseconds: Double) -> Provenance {
        var models: [String: String] = [:]
        for model in catalog.manifest.models { models[model.name] = model.sha256 }
        let configuration: [String: String] = [
            "affect_version": AffectVersion.current,
            "detector": detector.rawValue,
            "sampling": String(describing: policy),
            "crop_scale": String(classifier.cropScale),
            "flip_tta": String(classifier.flipAveraging),
            "align_eyes": String(classifier.alignEyes),
            "tracking": String(tracking),
            "half_life_ms": String(halfLifeMilliseconds),
        ]
        return Provenance(models: models, configuration: configuration)
    }
}
