import AffectPipeline
import AffectServer
import AffectStore
import AffectVision
import Logging

/// The engine participants' captures share, started as `affect serve` runs it. `affect bench
/// --websocket` starts the same, so what it measures is what the server runs.
enum CaptureEngine {
    /// Starts the engine's workers (building every worker's networks, so a missing model fails here)
    /// and the capture service on it.
    static func start(catalog: ModelCatalog, workers: Int, detector: DetectorKind, settings: CaptureService.Settings,
                      store: PrivacyStore, metrics: LiveMetrics,
                      logger: Logger = Logger(label: "affect.capture")) throws -> (CaptureService, LiveEngine) {
        let engine = LiveEngine(configuration: .init(workers: workers, detector: detector), catalog: catalog, metrics: metrics,
                                log: { Console.info("affect: \($0)") })
        try engine.start()
        // Captures run tracked (CaptureService asks for it), so smoothing is part of every score's provenance.
        let provenance = Provenance.of(catalog: catalog, detector: detector, policy: settings.policy, classifier: .init(),
                                       tracking: true, halfLifeMilliseconds: 500)
        let capture = CaptureService(engine: engine, store: store, feed: LiveFeed(), provenance: provenance,
                                     settings: settings, metrics: metrics, logger: logger)
        return (capture, engine)
    }
}
