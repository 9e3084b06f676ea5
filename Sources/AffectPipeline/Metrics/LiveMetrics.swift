import Prometheus

/// The live engine's counters and latency histograms in a Prometheus registry,
/// so a server can expose them as text at `/metrics`.
///
/// Names: `affect_frames_received_total`, `affect_frames_sampled_total`,
/// `affect_frames_analysed_total` and `affect_frames_dropped_total` (label `reason`),
/// each also labelled by `stream`; `affect_frame_latency_seconds` (capture to result)
/// per stream; `affect_ladder_step` (0 normal to 3 cheaper detector) and
/// `affect_ladder_changes_total`; `affect_streams_shed_total`; `affect_frames_refused_total` (label
/// `reason`: bytes, pixels, not_jpeg, damaged) for pushed frames refused before or at decoding;
/// `affect_device_results_refused_total` (label `reason`) for device-analysis messages refused.
public final class LiveMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let ladderStep: Gauge
    private let ladderChanges: Counter
    private let streamsShed: Counter
    private let refused: [String: Counter]
    /// The reasons a pushed frame is refused, as `affect_frames_refused_total` labels them.
    public static let refusalReasons = ["bytes", "pixels", "not_jpeg", "damaged"]
    static let latencyBuckets: [Duration] = [5, 10, 20, 33, 50, 75, 100, 150, 200, 250, 500, 1000, 2500].map { .milliseconds($0) }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        ladderStep = registry.makeGauge(descriptor: Self.name("ladder", "step", "Load ladder step: 0 normal, 1 reduced rate, 2 tracking between detections, 3 cheaper detector"))
        ladderChanges = registry.makeCounter(descriptor: Self.name("ladder_changes", "total", "Load ladder step changes"))
        streamsShed = registry.makeCounter(descriptor: Self.name("streams_shed", "total",
                                                                "Streams stopped as the last resort under load"))
        refused = Dictionary(uniqueKeysWithValues: Self.refusalReasons.map { reason in
            (reason, registry.makeCounter(descriptor: Self.name("frames_refused", "total",
                                                                "Pushed frames refused before or at decoding, by reason"),
                                          labels: [("reason", reason)]))
        })
    }

    /// Counts a pushed frame refused for `reason` (one of ``refusalReasons``).
    public func frameRefused(reason: String) {
        refused[reason]?.increment()
    }

    /// Counts a device-analysis message refused for `reason` (`affect_device_results_refused_total`):
    /// malformed, invalid values, times out of order or ahead, other files' hashes, too fast.
    public func deviceResultsRefused(reason: String) {
        // The registry hands back the one counter for a name and labels, so this registers it once.
        registry.makeCounter(descriptor: Self.name("device_results_refused", "total",
                                                   "Device-analysis messages refused, by reason"),
                             labels: [("reason", reason)]).increment()
    }

    /// The metrics of one stream.
    public struct Stream: Sendable {
        let received: Counter
        let sampled: Counter
        let analysed: Counter
        let dropped: [DropReason: Counter]
        let latency: DurationHistogram
    }

    public func stream(named name: String) -> Stream {
        let labels = [("stream", name)]
        return Stream(
            received: registry.makeCounter(descriptor: Self.name("frames_received", "total", "Frames read from the source"),
                                           labels: labels),
            sampled: registry.makeCounter(descriptor: Self.name("frames_sampled", "total", "Frames the sampler chose for analysis"),
                                          labels: labels),
            analysed: registry.makeCounter(descriptor: Self.name("frames_analysed", "total", "Frames analysed"), labels: labels),
            dropped: Dictionary(uniqueKeysWithValues: DropReason.allCases.map { reason in
                (reason, registry.makeCounter(descriptor: Self.name("frames_dropped", "total", "Sampled frames dropped before analysis, by reason"),
                                              labels: labels + [("reason", reason.rawValue)]))
            }),
            latency: registry.makeDurationHistogram(descriptor: Self.name("frame_latency", "seconds", "Capture-to-result latency of analysed frames"),
                                                    labels: labels, buckets: Self.latencyBuckets))
    }

    /// `affect_<metric>_<unit>`.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "affect", metricName: metric, unitName: unit, helpText: help)
    }

    func streamShed() {
        streamsShed.increment()
    }

    func ladderChanged(to step: LoadLadder.Step) {
        ladderStep.set(Int64(step.rawValue))
        ladderChanges.increment()
    }

    /// The Prometheus text exposition of every metric.
    public func text() -> String {
        registry.emitToString()
    }
}
