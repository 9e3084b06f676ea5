import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import AffectWebRTC
import Foundation
import Synchronization
import Logging

/// Runs participants' capture sessions on one shared ``LiveEngine``: each WebSocket gets its own
/// pushed stream, and the engine's load ladder spreads the workers over all of them.
public final class CaptureService: Sendable {
    /// Limits and settings for pushed frames.
    public struct Settings: Sendable {
        /// Frames over this size close the socket with 1009 (a 1280x720 webcam JPEG is 100 to 300 KB).
        public var maximumFrameBytes: Int
        /// Frames whose JPEG header declares more pixels close the socket with 1009, before decoding.
        public var maximumFramePixels: Int
        /// A client sending more frames than this per second, sustained, is closed with 1008.
        public var maximumFramesPerSecond: Double
        /// A capture that sends nothing for this long (a page left paused) ends.
        public var idleSeconds: Double
        /// How frames are sampled; the page is told the rate this asks for.
        public var policy: SamplingPolicy
        /// How each session's results are committed, and how many wait while the database does not answer.
        public var batching: SessionWriter.Batching
        /// The rate pages doing device analysis are asked to analyse at unless their study sets one (they
        /// go slower when the device cannot keep up). They may send up to 30 a second whatever this is.
        public var deviceFramesPerSecond: Double
        /// How cameras are received over WebRTC; nil when this server does not offer it (pages use JPEG).
        public var webRTC: WebRTCSettings?

        public init(maximumFrameBytes: Int = 2 * 1024 * 1024, maximumFramePixels: Int = PixelLimit.capture,
                    maximumFramesPerSecond: Double = 20, idleSeconds: Double = 300, policy: SamplingPolicy = .liveDefault,
                    batching: SessionWriter.Batching = SessionWriter.Batching(), deviceFramesPerSecond: Double = 15,
                    webRTC: WebRTCSettings? = nil) {
            self.webRTC = webRTC
            self.batching = batching
            self.deviceFramesPerSecond = deviceFramesPerSecond
            self.maximumFrameBytes = maximumFrameBytes
            self.maximumFramePixels = maximumFramePixels
            self.maximumFramesPerSecond = maximumFramesPerSecond
            self.idleSeconds = idleSeconds
            self.policy = policy
        }
    }

    /// Why a capture cannot start at all.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String

        static let noDeviceKernel = Unavailable(
            description: "this server cannot offer analysis in the browser (its inference kernel is not built)")

        static func webRTCFull(_ limit: Int) -> Unavailable {
            Unavailable(description: "this server is receiving as many video connections as it can (\(limit)); try again in a minute")
        }
    }

    public let settings: Settings
    let store: PrivacyStore
    let feed: LiveFeed
    private let engine: LiveEngine?
    /// What pages doing device analysis fetch and must report; nil when this server cannot offer it.
    let deviceKernel: DeviceKernel?
    private let provenance: Provenance
    /// The provenance of sessions of studies that measure faces (the landmark models too).
    private let measuredProvenance: Provenance
    private let metrics: LiveMetrics?
    private let logger: Logger
    /// The captures this server runs, by session id, and the sessions being set up, behind one lock.
    private let captures = Mutex(Captures())

    private struct Captures {
        var running: [String: CaptureSession] = [:]
        /// The node's WebRTC places taken (``WebRTCSettings/maximumSessions``), each freed once by the
        /// connection that took it when it closes.
        var webRTC: Set<UUID> = []
        /// Sessions started in the store whose capture is being set up, with their epochs.
        var starting: [String: Int64] = [:]
    }
    /// This server as a node: its id names it as the owner of the sessions it runs (see
    /// ``PrivacyStore/renewLeases(_:)``), and while it drains no capture starts here.
    public let node = NodeState(id: "server:" + UUID().uuidString.lowercased())
    var ownerID: String { node.id }

    /// - Parameters:
    ///   - engine: a started engine; nil when the server has no models, and captures are then refused.
    ///   - provenance: the models and settings the engine scores with, recorded with every session.
    ///   - measuredProvenance: the same for studies that measure faces; `provenance` when nil.
    public init(engine: LiveEngine?, store: PrivacyStore, feed: LiveFeed, provenance: Provenance,
                measuredProvenance: Provenance? = nil, deviceKernel: DeviceKernel? = nil,
                settings: Settings = Settings(), metrics: LiveMetrics? = nil, logger: Logger = Logger(label: "affect.capture")) {
        self.engine = engine
        self.deviceKernel = deviceKernel
        self.metrics = metrics
        self.store = store
        self.feed = feed
        self.provenance = provenance
        self.measuredProvenance = measuredProvenance ?? provenance
        self.settings = settings
        self.logger = logger
    }

    /// Refuses early, before a socket is opened, when the server cannot analyse the link's session.
    func checkAvailable(for link: PrivacyStore.ParticipantLink? = nil, requested: CaptureTransport = .jpeg) throws {
        if engine == nil {
            throw Unavailable(description: "this server has no emotion models installed (run `affect models` on it)")
        }
        if link?.analysis == .device && deviceKernel == nil { throw Unavailable.noDeviceKernel }
        if let link, let webRTC = settings.webRTC, transport(for: link, requested: requested) == .webrtc,
           webRTCSessions >= webRTC.maximumSessions {
            throw Unavailable.webRTCFull(webRTC.maximumSessions)
        }
        if node.isDraining { throw Unavailable(description: "this server is shutting down; reconnect to continue on another") }
    }

    /// Why this node should get no new sessions now (`/readyz`), or nil when it may.
    var notReadyBecause: String? {
        if node.isDraining { return "draining: this node is shutting down" }
        if isSaturated { return "at capacity: analysis is at the load ladder's top step" }
        if let webRTC = settings.webRTC, webRTCSessions >= webRTC.maximumSessions {
            return "at capacity: \(webRTC.maximumSessions) WebRTC sessions"
        }
        return nil
    }

    /// The transport a session of `link` uses when its page asks for `requested`: WebRTC only when the
    /// study uses it, this server offers it and the page can send it; JPEG otherwise.
    func transport(for link: PrivacyStore.ParticipantLink, requested: CaptureTransport) -> CaptureTransport {
        link.analysis == .server && link.study.definition.transport == .webrtc && requested == .webrtc && settings.webRTC != nil
            ? .webrtc : .jpeg
    }

    /// The rate a WebRTC session's track carries.
    func captureFramesPerSecond(_ definition: StudyDefinition) -> Double {
        definition.captureFramesPerSecond ?? settings.webRTC?.framesPerSecond ?? 15
    }

    /// WebRTC sessions running here now.
    var webRTCSessions: Int { captures.withLock { $0.webRTC.count } }

    /// Starts the link's one session and its stream on the engine; `requested` is the transport the page
    /// asks for (``transport(for:requested:)`` decides), `clock` how a WebRTC page places its frames.
    func begin(secret: String, requested: CaptureTransport = .jpeg,
               clock: StimulusClockMapping = .encodedFrames) async throws -> CaptureSession {
        guard let engine else { throw Unavailable(description: "this server has no emotion models installed") }
        try checkAvailable()
        let (plain, measured, kernel, defaultRate) = (provenance, measuredProvenance, deviceKernel, settings.deviceFramesPerSecond)
        // A WebRTC place is taken before the session starts, in one step with the check: ten pages opening
        // at once on a node with one place left get one between them, and a page refused for want of one
        // leaves its link as it was.
        var place: UUID?
        if requested == .webrtc, let webRTC = settings.webRTC {
            let token = UUID()
            let placed = captures.withLock { captures in
                guard captures.webRTC.count < webRTC.maximumSessions else { return false }
                captures.webRTC.insert(token)
                return true
            }
            guard placed else { throw Unavailable.webRTCFull(webRTC.maximumSessions) }
            place = token
        }
        let releasePlace: @Sendable () -> Void = { [self, place] in
            if let place { captures.withLock { _ = $0.webRTC.remove(place) } }
        }
        // Until a WebRTC connection holds the place, leaving this function frees it.
        var placeHandedOver = false
        defer { if !placeHandedOver { releasePlace() } }
        let chosen = Mutex<CaptureTransport>(.jpeg)
        let started = try await store.startSession(throughInvitation: secret, owner: ownerID) { [self] link in
            if link.analysis == .device, let kernel {
                return kernel.provenance(framesPerSecond: link.study.definition.deviceFramesPerSecond ?? defaultRate)
            }
            let base = link.study.definition.measures ? measured : plain
            let receiving = self.transport(for: link, requested: requested)
            chosen.withLock { $0 = receiving }
            guard receiving == .webrtc else { return base }
            return base.received(overWebRTCAt: captureFramesPerSecond(link.study.definition),
                                 everyFrame: link.study.definition.everyFrame, clock: clock)
        }
        let transport = chosen.withLock { $0 }
        let (session, link) = (started.session, started.link)
        // Its lease is renewed from now on, not only once the capture runs: on a loaded server the
        // steps below can take longer than a lease.
        captures.withLock { $0.starting[session.id] = session.epoch }
        defer { captures.withLock { _ = $0.starting.removeValue(forKey: session.id) } }
        let writer: SessionWriter
        do {
            writer = try await SessionWriter(store: store, session: session, batching: settings.batching)
        } catch {
            try? await store.endSession(session.id, actor: "participant:\(link.invitation.id)", epoch: session.epoch)
            throw error
        }
        let (outputs, continuation) = AsyncStream<CaptureSession.Output>.makeStream()
        let analysis: any CaptureAnalysis
        if link.analysis == .device {
            guard let deviceKernel else {
                try? await store.endSession(session.id, actor: "participant:\(link.invitation.id)", epoch: session.epoch)
                throw Unavailable.noDeviceKernel
            }
            let device = DeviceAnalysis(kernel: deviceKernel, sessionStartMilliseconds: session.startedAt,
                                        resumeFrom: started.resumeFromMilliseconds) { continuation.yield($0) }
            device.watch(idleSeconds: settings.idleSeconds)
            analysis = device
        } else if transport == .webrtc, let webRTC = settings.webRTC {
            do {
                analysis = try startWebRTC(engine, settings: webRTC, session: session, link: link, clock: clock,
                                           continuation: continuation, release: releasePlace)
                placeHandedOver = true
            } catch {
                try? await store.endSession(session.id, actor: "participant:\(link.invitation.id)", epoch: session.epoch)
                throw Unavailable(description: "this server could not start a video connection; try again")
            }
        } else {
            let source = PushFrameSource(name: session.id, timeoutSeconds: settings.idleSeconds,
                                         maximumFrameBytes: settings.maximumFrameBytes, maximumPixels: settings.maximumFramePixels)
            analysis = EngineAnalysis(stream: startEngineStream(engine, source: source, policy: settings.policy, session: session,
                                                                link: link, continuation: continuation),
                                      source: source)
        }
        let capture = CaptureSession(link: link, writer: writer, analysis: analysis, outputs: outputs,
                                     outputContinuation: continuation, feed: feed, logger: logger,
                                     resumeFrom: started.resumeFromMilliseconds)
        // A resumed session's earlier capture on this server (a page that reconnected before its old
        // socket closed) is fenced off in the store; stop it here too.
        let earlier = captures.withLock {
            let earlier = $0.running[session.id]
            $0.running[session.id] = capture
            return earlier
        }
        earlier?.stop(.superseded)
        logger.info(started.resumeFromMilliseconds == nil ? "capture started" : "capture resumed", metadata: [
            "session": "\(session.id)", "study": "\(session.studyID)", "epoch": "\(session.epoch)",
            "analysis": "\(analysis.location.rawValue)", "transport": "\(analysis.transport?.rawValue ?? "none")",
        ])
        return capture
    }

    /// A WebRTC session: the receiver, and its frames' stream on the shared engine.
    private func startWebRTC(_ engine: LiveEngine, settings webRTC: WebRTCSettings, session: Session,
                             link: PrivacyStore.ParticipantLink, clock: StimulusClockMapping,
                             continuation: AsyncStream<CaptureSession.Output>.Continuation,
                             release: @escaping @Sendable () -> Void) throws -> WebRTCAnalysis {
        let definition = link.study.definition
        let rate = captureFramesPerSecond(definition)
        let source = WebRTCFrameSource(name: session.id, framesPerSecond: rate, timeoutSeconds: settings.idleSeconds, mapping: clock)
        let policy: SamplingPolicy = definition.everyFrame ? .everyFrame : settings.policy
        return try WebRTCAnalysis(settings: webRTC, framesPerSecond: rate, stream: { [self] source in
            startEngineStream(engine, source: source, policy: policy, session: session, link: link, continuation: continuation)
        }, source: source, logger: logger, session: session.id, failed: { continuation.yield(.ended($0)) }, release: release)
    }

    /// The session's stream on the shared engine, fed by the page's frames (JPEGs or a WebRTC track).
    private func startEngineStream(_ engine: LiveEngine, source: any FrameSource, policy: SamplingPolicy, session: Session,
                                   link: PrivacyStore.ParticipantLink,
                                   continuation: AsyncStream<CaptureSession.Output>.Continuation) -> EngineStream {
        var stream = LiveEngine.Stream(name: session.id, source: source, policy: policy, tracking: true,
                                       sink: { continuation.yield(.result($0)) },
                                       momentSink: { continuation.yield(.moment($0)) })
        let metrics = self.metrics
        let logger = self.logger
        stream.errorSink = { error in
            if case .badFrame = CaptureSession.stop(for: error) {
                metrics?.frameRefused(reason: "damaged")
            } else {
                logger.warning("capture stopped by the engine: \(error)", metadata: ["session": "\(session.id)"])
            }
            continuation.yield(.ended(error))
        }
        stream.metricsLabel = "participants"
        stream.measures = link.study.definition.measures
        return EngineStream(engine: engine, id: engine.add(stream))
    }

    /// Runs the capture's result loop until its stream ends, then closes the session. Call once the
    /// socket is closed or the capture stopped.
    func run(_ capture: CaptureSession, until socketClosed: () async -> Void) async {
        async let consumed: Void = capture.consume()
        await socketClosed()
        capture.analysis.end()
        let dropped = await capture.analysis.waitUntilFinished()
        if capture.stopReason == nil, let error = capture.analysis.failure {
            logger.warning("capture stopped by the engine: \(error)", metadata: ["session": "\(capture.sessionID)"])
            capture.stop(CaptureSession.stop(for: error))
        }
        capture.outputContinuation.finish()
        await consumed
        capture.publishHealth(force: true)
        await capture.finish(actor: "participant:\(capture.link.invitation.id)")
        captures.withLock {
            // A resumed capture may already hold this session's place.
            if $0.running[capture.sessionID] === capture { $0.running[capture.sessionID] = nil }
        }
        let records = await capture.writer.recordsWritten
        logger.info("capture ended", metadata: [
            "session": "\(capture.sessionID)", "records": "\(records)",
            "dropped": "\(dropped)",
            "analysis": "\(capture.analysis.location.rawValue)",
        ])
    }

    /// Withdraws the consent given through a link; a capture running through it stops at once.
    func withdraw(secret: String) async throws -> PrivacyStore.Withdrawal {
        let (withdrawal, link) = try await store.withdrawConsent(throughInvitation: secret)
        let capture = captures.withLock { $0.running.values.first { $0.link.participant.id == link.participant.id } }
        // Off the dashboard at once; the capture stops at its next frame.
        if let session = link.invitation.sessionID { feed.remove(session: session) }
        capture?.stop(.withdrawn)
        return withdrawal
    }

    /// Counts and logs a frame refused before decoding; the socket is then closed with the reason.
    func refused(_ rejection: PushFrameSource.Rejection, session: CaptureSession) {
        metrics?.frameRefused(reason: rejection.reason)
        logger.warning("frame refused: \(rejection)", metadata: ["session": "\(session.sessionID)"])
    }

    /// The rate the page should send (server analysis) or analyse (device analysis) at now.
    func requestedRate(_ capture: CaptureSession) -> Double? {
        capture.analysis.location == .device
            ? capture.link.study.definition.deviceFramesPerSecond ?? settings.deviceFramesPerSecond
            : capture.analysis.requestedRate
    }

    /// Whether the analysis gave up on the capture (shed under load, stalled).
    func streamError(_ capture: CaptureSession) -> (any Error)? {
        capture.analysis.failure
    }

    /// Counts and logs device results refused; the socket is then closed with the reason.
    func refused(_ refusal: DeviceMessage.Refusal, session: CaptureSession) {
        metrics?.deviceResultsRefused(reason: refusal.reason)
        logger.warning("device results refused: \(refusal)", metadata: ["session": "\(session.sessionID)"])
    }
}

extension CaptureService {
    /// Whether this server is running a capture of `session` now.
    func isRunning(session: String) -> Bool {
        captures.withLock { $0.running[session] != nil }
    }

    /// The sessions this server is running or setting up, with the epoch each writes at.
    func runningSessions() -> [(id: String, epoch: Int64)] {
        captures.withLock { captures in
            captures.running.values.map { ($0.sessionID, $0.writer.session.epoch) }
                + captures.starting.filter { captures.running[$0.key] == nil }.map { ($0.key, $0.value) }
        }
    }

    /// Asks every running capture's page to resume on another node (the server is shutting down).
    /// Returns how many were asked.
    func drainAll() -> Int {
        let running = captures.withLock { Array($0.running.values) }.filter(\.isCapturing)
        for capture in running { capture.stop(.draining) }
        return running.count
    }

    /// Whether any capture is still running or closing here.
    var hasRunningCaptures: Bool { captures.withLock { !$0.running.isEmpty } }

    /// Whether analysis is at the load ladder's top step, where a new session would be shed first.
    var isSaturated: Bool {
        guard let engine else { return false }
        return engine.currentStep >= engine.configuration.ladder.highestStep
    }

    /// Stops the capture of `session` if this server runs it: `.superseded` when its lease is held no
    /// longer, `.withdrawn` when another node deleted its data. A capture already closing is left
    /// alone (its session ended meanwhile). Returns whether a capture was stopped.
    @discardableResult
    func stop(session: String, because reason: CaptureSession.Stop) -> Bool {
        guard let capture = captures.withLock({ $0.running[session] }), capture.isCapturing else { return false }
        capture.stop(reason)
        return true
    }
}
