import AffectCore
import AffectPipeline
import AffectVision
import Foundation

/// Server analysis: the page's frames go into a ``PushFrameSource`` on the shared ``LiveEngine``,
/// whose results come back through the session's outputs.
final class EngineAnalysis: CaptureAnalysis {
    let location = AnalysisLocation.server
    private let engine: LiveEngine
    private let streamID: Int
    private let source: PushFrameSource

    init(engine: LiveEngine, streamID: Int, source: PushFrameSource) {
        self.engine = engine
        self.streamID = streamID
        self.source = source
    }

    func accept(_ input: CaptureInput) throws(CaptureRefusal) {
        guard case .frame(let frame) = input else { throw .wrongAnalysis(.server) }
        do {
            try source.push(frame.jpeg, capturedAt: frame.mediaMilliseconds)
        } catch {
            throw .frame(error)
        }
    }

    var requestedRate: Double? { engine.requestedRate(stream: streamID) }
    var failure: (any Error)? { engine.captureError(ofStream: streamID) }

    var health: CaptureHealth {
        let report = engine.currentReport(stream: streamID)
        return CaptureHealth(latencyP50Milliseconds: report?.latency?.p50, latencyP95Milliseconds: report?.latency?.p95,
                             dropped: report?.dropped.values.reduce(0, +) ?? 0)
    }

    func end() {
        engine.end(stream: streamID)
    }

    func waitUntilFinished() async -> Int {
        let (engine, streamID) = (self.engine, self.streamID)
        // The engine's wait blocks a thread; keep it off the cooperative pool.
        let report = await withCheckedContinuation { (done: CheckedContinuation<LiveEngine.StreamReport?, Never>) in
            Thread.detachNewThread { done.resume(returning: engine.waitUntilFinished(stream: streamID)) }
        }
        return report?.dropped.values.reduce(0, +) ?? 0
    }
}
