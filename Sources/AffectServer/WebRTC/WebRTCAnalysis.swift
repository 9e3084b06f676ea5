import AffectCore
import AffectPipeline
import AffectVision
import AffectWebRTC
import Foundation
import Logging
import Synchronization

/// Server analysis of a WebRTC camera track: the page's offer and ICE candidates go to a
/// ``WebRTCReceiver``, its decoded frames into a ``WebRTCFrameSource`` on the shared engine, placed on
/// the stimulus clock by the page's clock pairs. The answer and the server's candidates go back to the
/// page over the capture socket.
final class WebRTCAnalysis: CaptureAnalysis {
    let location = AnalysisLocation.server
    let transport: CaptureTransport? = .webrtc
    let source: WebRTCFrameSource
    private let stream: EngineStream
    private let receiver: WebRTCReceiver
    private let logger: Logger
    private let session: String
    private let state: Connection

    /// The connection's state, shared with the receiver's callbacks, behind one lock.
    private final class Connection: Sendable {
        let lock: Mutex<State>
        init(_ state: State) { lock = Mutex(state) }
        func withLock<Result>(_ body: (inout State) -> Result) -> Result { lock.withLock { body(&$0) } }
    }

    private struct State {
        var offered = false
        var candidates = 0
        var toPage: (@Sendable (String) -> Void)?
        /// Messages made before the socket asked for them.
        var waiting: [String] = []
        var failure: (any Error)?
        var rate: FrameRateLimit
        var release: (@Sendable () -> Void)?

        init(rate: FrameRateLimit) { self.rate = rate }
    }

    /// Why the WebRTC connection ended the session. The description is what the page is told; the
    /// receiver's own words go to the log.
    struct ConnectionFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the receiver; its frames go to `source`, which `stream` analyses.
    /// - Parameters:
    ///   - framesPerSecond: the rate the page's track is asked for; decoded frames much faster than it
    ///     (twice, sustained) end the session.
    ///   - failed: told once when the connection fails, so the session stops at once.
    ///   - release: frees the node's WebRTC place this connection holds; called once, when it closes.
    init(settings: WebRTCSettings, framesPerSecond: Double, stream: @escaping (WebRTCFrameSource) -> EngineStream,
         source: WebRTCFrameSource, logger: Logger, session: String,
         failed: @escaping @Sendable (any Error) -> Void,
         release: @escaping @Sendable () -> Void) throws(WebRTCReceiver.Failure) {
        self.source = source
        self.logger = logger
        self.session = session
        var initial = State(rate: FrameRateLimit(framesPerSecond: 2 * framesPerSecond))
        initial.release = release
        let state = Connection(initial)
        self.state = state
        let started = ContinuousClock.now
        // The connection ends once, whichever way it fails: no more frames, and the session stops.
        let end: @Sendable (ConnectionFailed) -> Void = { failure in
            let first = state.withLock { state -> Bool in
                defer { state.failure = state.failure ?? failure }
                return state.failure == nil
            }
            guard first else { return }
            source.close()
            failed(failure)
        }
        receiver = try WebRTCReceiver(options: settings.receiverOptions, onEvent: { event in
            let message: String?
            switch event {
            case .answer(let sdp): message = try? WebRTCMessage.encode(WebRTCMessage.Answer(sdp: sdp))
            case .candidate(let mline, let candidate):
                message = try? WebRTCMessage.encode(WebRTCMessage.Candidate(mline: mline, candidate: candidate))
            case .connected:
                logger.info("webrtc track connected", metadata: ["session": "\(session)"])
                message = nil
            case .failed(let reason):
                logger.warning("webrtc connection failed: \(reason)", metadata: ["session": "\(session)"])
                end(ConnectionFailed(description: reason.hasPrefix("the video track")
                    ? reason : "the video connection from the browser failed"))
                message = nil
            case .senderReport(let rtp, let ntp):
                source.recordSenderReport(rtpTimestamp: rtp, ntpTime: ntp)
                message = nil
            case .offer:
                // A receiver makes no offer.
                message = nil
            }
            guard let message else { return }
            let send = state.withLock { state -> (@Sendable (String) -> Void)? in
                guard let toPage = state.toPage else {
                    state.waiting.append(message)
                    return nil
                }
                return toPage
            }
            send?(message)
        }, onFrame: { frame in
            guard state.withLock({ $0.rate.admit(atMilliseconds: started.duration(to: .now).milliseconds) }) else {
                end(ConnectionFailed(description: "the video track carries more frames than the study asks for"))
                return
            }
            source.receive(frame)
        })
        self.stream = stream(source)
    }

    func sendToPage(_ send: @escaping @Sendable (String) -> Void) {
        let waiting = state.withLock { state in
            state.toPage = send
            defer { state.waiting = [] }
            return state.waiting
        }
        waiting.forEach(send)
    }

    func accept(_ input: CaptureInput) throws(CaptureRefusal) {
        switch input {
        case .webRTCOffer(let offer):
            let first = state.withLock { state in
                defer { state.offered = true }
                return !state.offered
            }
            guard first else { throw .webRTC(.outOfOrder("one offer per session")) }
            do {
                try receiver.offer(offer.sdp)
            } catch {
                throw .webRTC(.malformed(error.description))
            }
        case .iceCandidate(let candidate):
            let allowed = state.withLock { state in
                state.candidates += 1
                return state.offered && state.candidates <= WebRTCMessage.Limit.candidates
            }
            guard allowed else { throw .webRTC(.outOfOrder("candidates come after the offer, at most \(WebRTCMessage.Limit.candidates)")) }
            // An empty candidate says the page has gathered all of its own.
            if !candidate.candidate.isEmpty { receiver.addCandidate(mline: candidate.mline, candidate.candidate) }
        case .clock(let report):
            source.record(report)
        case .frame: throw .wrongTransport(.webrtc)
        case .deviceHello, .deviceResults: throw .wrongAnalysis(.server)
        }
    }

    var requestedRate: Double? { stream.requestedRate }
    var failure: (any Error)? { state.withLock { $0.failure } ?? stream.failure }
    /// The engine's health, with the frames received counted as those placed on the stimulus clock (the
    /// page's clock messages are not frames).
    var health: CaptureHealth {
        var health = stream.health
        health.framesReceived = source.counts.placed
        return health
    }

    /// Stops the connection (no frame comes after) and ends the engine's stream.
    func end() {
        receiver.close()
        let release = state.withLock { state in
            defer { state.release = nil }
            return state.release
        }
        release?()
        stream.end()
    }

    func waitUntilFinished() async -> Int {
        let dropped = await stream.waitUntilFinished()
        let (decoded, _, unreported, senderReports) = source.counts
        var metadata: Logger.Metadata = [
            "session": "\(session)", "decoded": "\(decoded)", "never_on_the_stimulus_clock": "\(unreported)",
            "replaced_before_analysis": "\(source.dropped)", "dropped": "\(dropped)", "clock": "\(source.mapping.rawValue)",
            "sender_reports": "\(senderReports)",
        ]
        // How far the sender-report mapping would have placed the frames the page placed exactly.
        if let residual = source.senderReportResidual {
            metadata["sender_report_residual_frames"] = "\(residual.frames)"
            metadata["sender_report_residual_ms_median"] = "\((residual.median * 100).rounded() / 100)"
            metadata["sender_report_residual_ms_p95"] = "\((residual.p95 * 100).rounded() / 100)"
        }
        logger.info("webrtc track ended", metadata: metadata)
        return dropped
    }
}
