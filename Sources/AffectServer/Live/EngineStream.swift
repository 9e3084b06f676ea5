import AffectPipeline
import Foundation

/// A capture's stream on the shared ``LiveEngine``: what server analyses (``EngineAnalysis``,
/// ``WebRTCAnalysis``) ask of it, whichever way their frames arrive.
struct EngineStream: Sendable {
    let engine: LiveEngine
    let id: Int

    var requestedRate: Double? { engine.requestedRate(stream: id) }
    var failure: (any Error)? { engine.captureError(ofStream: id) }

    var health: CaptureHealth {
        let report = engine.currentReport(stream: id)
        return CaptureHealth(latencyP50Milliseconds: report?.latency?.p50, latencyP95Milliseconds: report?.latency?.p95,
                             dropped: report?.dropped.values.reduce(0, +) ?? 0)
    }

    func end() {
        engine.end(stream: id)
    }

    /// Waits until the stream's last result is out; returns how many frames it dropped.
    func waitUntilFinished() async -> Int {
        let (engine, id) = (self.engine, self.id)
        // The engine's wait blocks a thread; keep it off the cooperative pool.
        let report = await withCheckedContinuation { (done: CheckedContinuation<LiveEngine.StreamReport?, Never>) in
            Thread.detachNewThread { done.resume(returning: engine.waitUntilFinished(stream: id)) }
        }
        return report?.dropped.values.reduce(0, +) ?? 0
    }
}
