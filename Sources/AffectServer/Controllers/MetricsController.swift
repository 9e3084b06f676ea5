import AffectPipeline
import Hummingbird

/// Prometheus text exposition of the live engine's counters and latency histograms.
struct MetricsController {
    let metrics: LiveMetrics

    func addRoutes(to routes: Routes) {
        routes.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
    }
}
