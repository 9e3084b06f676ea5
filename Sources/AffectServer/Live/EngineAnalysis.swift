import AffectCore
import AffectPipeline
import AffectVision
import Foundation

/// Server analysis of JPEGs: the page's frames go into a ``PushFrameSource`` on the shared
/// ``LiveEngine``, whose results come back through the session's outputs.
final class EngineAnalysis: CaptureAnalysis {
    let location = AnalysisLocation.server
    let transport: CaptureTransport? = .jpeg
    private let stream: EngineStream
    private let source: PushFrameSource

    init(stream: EngineStream, source: PushFrameSource) {
        self.stream = stream
        self.source = source
    }

    func accept(_ input: CaptureInput) throws(CaptureRefusal) {
        switch input {
        case .frame(let frame):
            do {
                try source.push(frame.jpeg, capturedAt: frame.mediaMilliseconds)
            } catch {
                throw .frame(error)
            }
        case .webRTCOffer, .iceCandidate, .clock: throw .wrongTransport(.jpeg)
        case .deviceHello, .deviceResults: throw .wrongAnalysis(.server)
        }
    }

    var requestedRate: Double? { stream.requestedRate }
    var failure: (any Error)? { stream.failure }
    var health: CaptureHealth { stream.health }
    func end() { stream.end() }
    func waitUntilFinished() async -> Int { await stream.waitUntilFinished() }
}
