import AffectPipeline
import AffectStore
import AffectVision
import AffectWebRTC
import Logging

/// The engine participants' captures share, started as `affect serve` runs it. `affect bench
/// --websocket` starts the same, so what it measures is what the server runs.
public enum CaptureEngine {
    /// Starts the engine's workers (building every worker's networks, so a missing model fails here)
    /// and the capture service on it.
    /// - Parameter log: receives the engine's own lines (load ladder steps, shed streams) for the operator.
    /// Device analysis is offered when the inference kernel's wasm builds are in `kernelDirectory`
    /// (``DeviceKernel/defaultDirectory(catalog:)`` when nil); without them it is off, and said so in `log`.
    /// WebRTC, when `settings` asks for it, needs GStreamer's elements; without them it is off, and said so.
    public static func start(catalog: ModelCatalog, workers: Int, detector: DetectorKind, settings: CaptureService.Settings,
                             store: PrivacyStore, metrics: LiveMetrics, kernelDirectory: String? = nil,
                             logger: Logger = Logger(label: "affect.capture"),
                             log: @escaping @Sendable (String) -> Void) throws -> (CaptureService, LiveEngine) {
        // Every worker holds the landmark stage; it runs only for the streams of studies that measure faces.
        let engine = LiveEngine(configuration: .init(workers: workers, detector: detector, measures: true), catalog: catalog,
                                metrics: metrics, log: log)
        try engine.start()
        // Captures run tracked (CaptureService asks for it), so smoothing is part of every score's provenance.
        let provenance = Provenance.of(catalog: catalog, detector: detector, policy: settings.policy, classifier: .init(),
                                       tracking: true, halfLifeMilliseconds: 500)
        let measured = Provenance.of(catalog: catalog, detector: detector, policy: settings.policy, classifier: .init(),
                                     tracking: true, halfLifeMilliseconds: 500, measures: true)
        var deviceKernel: DeviceKernel?
        do {
            deviceKernel = try DeviceKernel(catalog: catalog, directory: kernelDirectory ?? DeviceKernel.defaultDirectory(catalog: catalog))
        } catch {
            log("analysis in participants' browsers is off: \(error)")
        }
        var settings = settings
        if settings.webRTC != nil {
            do {
                try WebRTCRuntime.initialize()
            } catch {
                log("cameras over WebRTC are off (pages send JPEGs): \(error)")
                settings.webRTC = nil
            }
        }
        let capture = CaptureService(engine: engine, store: store, feed: LiveFeed(), provenance: provenance,
                                     measuredProvenance: measured, deviceKernel: deviceKernel,
                                     settings: settings, metrics: metrics, logger: logger)
        return (capture, engine)
    }
}
