import AffectCore
import AffectPipeline
import AffectStore
import AffectVision

extension Provenance {
    /// The models and settings that shape scores, as recorded with every session (CLI and server alike),
    /// so each score can be traced to them.
    public static func of(catalog: ModelCatalog, detector: DetectorKind, policy: SamplingPolicy,
                   classifier: EmotionClassifier.Options, tracking: Bool, halfLifeMilliseconds: Double,
                   measures: Bool = false) -> Provenance {
        var models: [String: String] = [:]
        let landmarkRoles: Set = ["face-landmarks", "iris-landmarks"]
        for model in catalog.manifest.models where measures || !landmarkRoles.contains(model.role) {
            models[model.name] = model.sha256
        }
        let temperature = catalog.manifest.model(named: ModelCatalog.Name.emotion)?.calibration?
            .first { $0.flipAveraging == classifier.flipAveraging }?.temperature
        let configuration: [String: String] = [
            "affect_version": AffectVersion.current,
            "detector": detector.rawValue,
            "sampling": String(describing: policy),
            "crop_scale": String(classifier.cropScale),
            "flip_tta": String(classifier.flipAveraging),
            "align_eyes": String(classifier.alignEyes),
            "calibration": classifier.calibrated ? temperature.map { "temperature \($0)" } ?? "none in the manifest" : "off",
            "measures": String(measures),
            "tracking": String(tracking),
            "half_life_ms": String(halfLifeMilliseconds),
        ]
        return Provenance(models: models, configuration: configuration)
    }
}

extension Provenance {
    /// The same models and settings for a camera received over WebRTC: the transport (a video codec's
    /// compression, not JPEG's), the track's rate and whether every frame is analysed shape the scores
    /// too, and how frames were placed on the stimulus clock (exactly, or through sender reports). Sessions
    /// sent as JPEGs record no transport.
    func received(overWebRTCAt framesPerSecond: Double, everyFrame: Bool, clock: StimulusClockMapping) -> Provenance {
        var configuration = configuration
        configuration["transport"] = CaptureTransport.webrtc.rawValue
        configuration["capture_fps"] = String(framesPerSecond)
        configuration["stimulus_clock"] = clock.rawValue
        if everyFrame { configuration["sampling"] = String(describing: SamplingPolicy.everyFrame) }
        return Provenance(models: models, configuration: configuration)
    }
}
