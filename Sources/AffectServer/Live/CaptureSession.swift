import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import Foundation
import Logging
import Synchronization

/// One participant's capture, from the WebSocket's opening to its close: the page's input goes to
/// the session's ``CaptureAnalysis`` (frames to the shared engine, or results the page made itself);
/// results come back through ``consume()`` into the ``SessionWriter``, which keeps what the study's
/// mode allows, and on to the ``LiveFeed``.
final class CaptureSession: Sendable {
    /// What the engine sends back for this stream.
    enum Output: Sendable {
        case result(FrameResult)
        case moment(Moment)
        /// The engine ended the stream's capture with this error.
        case ended(any Error)
    }

    /// Why the server ends a capture before the page does. The text is what the page and the
    /// dashboard are told: it names nothing of the server's (details go to the log).
    enum Stop: Sendable, Equatable {
        case withdrawn
        /// The page sent a frame that could not be decoded (damaged, or not what its header said).
        case badFrame(String)
        /// The server's side failed (storage, shedding under load, a stall).
        case failed(String)
        /// The page reconnected through its link and the session went on over the new connection
        /// (on this server or another): this one stops writing and closes.
        case superseded
        /// The session was settled as interrupted while this server could not renew its lease (the
        /// database was unreachable for longer than a lease): the page reconnects and resumes it.
        case interrupted
        /// This server is shutting down: what is pending is written, the session stays open, and the
        /// page reconnects and resumes it on another node.
        case draining
    }

    let link: PrivacyStore.ParticipantLink
    let writer: SessionWriter
    let analysis: any CaptureAnalysis
    let outputs: AsyncStream<Output>
    let outputContinuation: AsyncStream<Output>.Continuation
    private let feed: LiveFeed
    private let logger: Logger
    /// What changes while the capture runs, behind one lock: the socket's task, the result loop,
    /// commit tasks and the lease service all touch it.
    private let state: Mutex<State>

    private struct State {
        var status: LiveFeed.SessionStatus
        var stop: Stop?
        var onStop: (@Sendable (Stop) -> Void)?
        var onStored: (@Sendable ([LiveFeed.SessionPoint]) -> Void)?
        var onCommitted: (@Sendable ([Double]) -> Void)?
        var onHeld: (@Sendable (Bool) -> Void)?
        var lastMediaMilliseconds = -Double.infinity
        var analysedTimes: [ContinuousClock.Instant] = []
        var lastHealth = ContinuousClock.now
        /// The page's connection dropped without ending the session.
        var disconnected = false
        /// Set once the session is being closed: its lease may then lapse without meaning anything.
        var finishing = false
        /// Whether the page has been told to pause because the writer's buffer is full.
        var held = false
    }

    var sessionID: String { writer.session.id }
    /// For a resumed session, the media time its stored results reach (see ``PrivacyStore/LinkSession``).
    let resumeFrom: Double?

    /// - Parameter resumeFrom: for a resumed session, the media time its stored results reach: earlier
    ///   frames are skipped, so nothing is stored twice.
    init(link: PrivacyStore.ParticipantLink, writer: SessionWriter, analysis: any CaptureAnalysis,
         outputs: AsyncStream<Output>, outputContinuation: AsyncStream<Output>.Continuation, feed: LiveFeed,
         logger: Logger, resumeFrom: Double? = nil) {
        self.resumeFrom = resumeFrom
        self.logger = logger
        self.link = link
        self.writer = writer
        self.analysis = analysis
        self.outputs = outputs
        self.outputContinuation = outputContinuation
        self.feed = feed
        let status = LiveFeed.SessionStatus(session: writer.session.id, study: writer.session.studyID,
                                            stimulus: writer.session.stimulusID, mode: writer.policy.mode, state: .running,
                                            startedAt: writer.session.startedAt, epoch: writer.session.epoch)
        var initial = State(status: status)
        if let resumeFrom { initial.lastMediaMilliseconds = resumeFrom.nextDown }
        state = Mutex(initial)
        feed.update(status)
    }

    /// Why the capture was stopped by the server, if it was.
    var stopReason: Stop? { state.withLock { $0.stop } }

    /// Whether the capture is still taking frames (not stopped, not closing).
    var isCapturing: Bool { state.withLock { $0.stop == nil && !$0.finishing } }

    /// The page's connection went away without ending the session: the session stays open (its
    /// lease runs out unless the page resumes through its link), and the open window is not closed.
    func markDisconnected() {
        state.withLock { $0.disconnected = true }
    }

    /// Called once when the server stops the capture (withdrawal, a failed stream), to close the socket.
    func onStop(_ body: @escaping @Sendable (Stop) -> Void) {
        let already = state.withLock {
            $0.onStop = body
            return $0.stop
        }
        if let already { body(already) }
    }

    /// Called with the points of every record stored, for a study that shows participants their own results.
    func onStored(_ body: @escaping @Sendable ([LiveFeed.SessionPoint]) -> Void) {
        state.withLock { $0.onStored = body }
    }

    /// Called with true when the writer's buffer fills (the database has not answered for a while:
    /// the page should pause, and frames that come meanwhile are not analysed) and with false once
    /// commits get through again.
    func onHeld(_ body: @escaping @Sendable (Bool) -> Void) {
        state.withLock { $0.onHeld = body }
    }

    /// Called, once they are committed, with the media times of the records just stored (a frame's
    /// time, a window's start): the page's acknowledgement that they survive a crash.
    func onCommitted(_ body: @escaping @Sendable ([Double]) -> Void) {
        state.withLock { $0.onCommitted = body }
    }

    /// Stops the capture for `reason` (the first reason wins) and ends the engine's stream.
    func stop(_ reason: Stop) {
        let callback: (@Sendable (Stop) -> Void)? = state.withLock {
            guard $0.stop == nil else { return nil }
            $0.stop = reason
            return $0.onStop
        }
        analysis.end()
        callback?(reason)
    }

    /// Offers the page's input to the analysis. Frames whose media time does not move forward (a
    /// paused or re-sent frame) are skipped: results are keyed by stimulus time. (Device results are
    /// held to increasing times by the analysis, which refuses them otherwise.)
    func accept(_ input: CaptureInput) throws(CaptureRefusal) -> Bool {
        let fresh = state.withLock { state in
            let time: Double? = switch input {
            case .frame(let frame): frame.mediaMilliseconds
            case .deviceResults(let results): results.frames.last?.tMs
            case .clock(let report): report.lastMediaMilliseconds
            case .deviceHello, .webRTCOffer, .iceCandidate: nil
            }
            guard let time else { return true }
            state.status.framesReceived += input.frameCount
            // While the store is backed up results could not be kept: not analysed (or taken) at all.
            guard !state.held else { return false }
            if case .frame = input {
                guard time > state.lastMediaMilliseconds else { return false }
                state.lastMediaMilliseconds = time
            }
            state.status.mediaMs = time
            return true
        }
        guard fresh else { return false }
        try analysis.accept(input)
        return true
    }

    /// Writes the engine's results as they come, until the stream ends; stops the capture when a
    /// write is refused (consent withdrawn, the session resumed elsewhere) or fails. The writer commits
    /// in batches; a ticker commits a due batch when results stop coming (a paused page, a slow engine).
    func consume() async {
        let ticker = Task { [writer] in
            while !Task.isCancelled {
                try? await Task.sleep(for: writer.batching.maximumDelay)
                guard !Task.isCancelled, stopReason == nil else { continue }
                // In a task of its own: stopping the ticker must not cancel a commit under way (its
                // records would be neither stored nor kept for the final commit).
                await Task { await write { try await writer.flushIfDue() } }.value
            }
        }
        // Results never wait on the store: they join the writer's bounded batch, and a full batch is
        // committed by a task of its own while the next results come in.
        var lastCommit: Task<Void, Never>?
        for await output in outputs {
            guard stopReason == nil else { continue }
            let added: SessionWriter.Added
            switch output {
            case .result(let result):
                added = await writer.add(result)
                noteAnalysed()
            case .moment(let moment):
                added = await writer.add(moment: moment)
            case .ended(let error):
                stop(Self.stop(for: error))
                continue
            }
            noteBacklog(added.backedUp)
            // The writer asks again only once this commit has started, so one runs at a time.
            if added.commitDue { lastCommit = Task { [writer] in await write { try await writer.flushIfDue() } } }
        }
        ticker.cancel()
        await ticker.value
        await lastCommit?.value
    }

    /// One call into the writer: what it committed is published; a refusal or failure stops the capture.
    private func write(_ body: () async throws -> [MinimisedRecord]) async {
        do {
            published(try await body())
            noteBacklog(await writer.isBackedUp)
        } catch StoreError.noConsent {
            stop(.withdrawn)
        } catch StoreError.sessionContinuedElsewhere {
            stop(.superseded)
        } catch StoreError.sessionClosed {
            logger.warning("capture stopped: its session was settled as interrupted; the page may resume it",
                           metadata: ["session": "\(sessionID)"])
            stop(.interrupted)
        } catch {
            logger.error("capture stopped: results could not be stored: \(error)", metadata: ["session": "\(sessionID)"])
            stop(.failed("the server could not store results"))
        }
    }

    /// Tells the page to pause when the writer's buffer has filled, and to go on once it has drained.
    private func noteBacklog(_ backedUp: Bool) {
        let changed: (@Sendable (Bool) -> Void)?? = state.withLock {
            guard backedUp != $0.held else { return nil }
            $0.held = backedUp
            return .some($0.onHeld)
        }
        guard let changed else { return }
        if backedUp {
            logger.warning("the database has not answered for a while: the page is asked to pause", metadata: ["session": "\(sessionID)"])
        }
        changed?(backedUp)
    }

    /// A frame the page sent that would not decode is the page's fault (1007); anything else that ends
    /// a capture is the server's (1011).
    /// The page is told what was wrong with its frame, in words that name nothing of the server's.
    static func stop(for error: any Error) -> Stop {
        switch error as? VisionError {
        case .imageCorrupt(_, let reason): .badFrame("a frame is damaged (\(reason.prefix(1).lowercased() + reason.dropFirst()))")
        case .imageUnreadable(_, let reason): .badFrame("a frame cannot be read: \(reason)")
        case .imageTooLarge(_, let width, let height, let limit): .badFrame("a \(width)x\(height) frame is over the \(PixelLimit.describe(limit)) limit")
        case .imageUndecodable: .badFrame("a frame is not a decodable image")
        default: .failed(publicReason(for: error))
        }
    }

    /// Why the engine gave a stream up, in words for the page: shedding and stalls are said as such.
    static func publicReason(for error: any Error) -> String {
        switch error {
        case is StreamShed: "the server is overloaded and stopped this session"
        case VisionError.streamStalled(_, let seconds): "no frame arrived for \(Int(seconds)) s"
        case let failure as WebRTCAnalysis.ConnectionFailed: failure.description
        default: "the server could not go on analysing this session"
        }
    }

    /// Shows records just stored on the dashboard, and to the participant when the study allows it.
    /// Shows stored records on the feed and the page's readout, and counts them (the count the
    /// status reports, kept under this session's lock rather than read across from the writer).
    private func published(_ records: [MinimisedRecord]) {
        let acknowledge = state.withLock {
            $0.status.recordsWritten += records.count
            return $0.onCommitted
        }
        let times = records.compactMap { record -> Double? in
            switch record {
            case .face(let row): row.timeMilliseconds
            case .noFace(let row): row.timeMilliseconds
            case .group(let row): row.timeMilliseconds
            case .window(let row): row.startMilliseconds
            case .moment: nil
            }
        }
        if !times.isEmpty { acknowledge?(times) }
        feed.add(records, session: sessionID)
        let points = records.compactMap(LiveFeed.point(of:))
        if !points.isEmpty, let readout = state.withLock({ $0.onStored }) { readout(points) }
    }

    /// Ends the session in the store (unless its data went with a withdrawal, or the page only lost
    /// its connection) and in the feed.
    func finish(actor: String) async {
        let droppedOnly = state.withLock {
            $0.finishing = true
            return $0.disconnected && $0.stop == nil
        }
        if droppedOnly {
            return showInterrupted(because: "the page's connection dropped; it may resume through its link")
        }
        if stopReason == .draining {
            do {
                published(try await writer.handOver())
            } catch {
                logger.warning("a draining capture could not write what it had pending: \(error)", metadata: ["session": "\(sessionID)"])
            }
            return showInterrupted(because: "its server shut down; the page may resume it through its link")
        }
        var failure: String?
        if stopReason != .withdrawn {
            do {
                published(try await writer.finish(actor: actor))
            } catch StoreError.noConsent {
                stop(.withdrawn)
            } catch StoreError.sessionContinuedElsewhere {
                stop(.superseded)
            } catch {
                failure = "the session could not be closed: \(error)"
            }
        }
        if stopReason == .withdrawn {
            feed.remove(session: sessionID)
            return
        }
        // The newer connection reports this session from now on.
        if stopReason == .superseded { return }
        if stopReason == .interrupted {
            return showInterrupted(because: "the server lost the session's lease; the page may resume it through its link")
        }
        let final = state.withLock { state in
            switch state.stop {
            case .failed(let reason), .badFrame(let reason): state.status.state = .failed; state.status.reason = reason
            default:
                state.status.state = failure == nil ? .ended : .failed
                state.status.reason = failure
            }
            return state.status
        }
        feed.update(final)
    }

    /// Shows the session as interrupted on the dashboard: it stays open for the page to resume.
    private func showInterrupted(because reason: String) {
        let final = state.withLock {
            $0.status.state = .interrupted
            $0.status.reason = reason
            return $0.status
        }
        feed.update(final)
    }

    /// Publishes health at most once a second.
    func publishHealth(force: Bool = false) {
        let now = ContinuousClock.now
        let due = state.withLock {
            guard force || $0.lastHealth.duration(to: now) >= .seconds(1) else { return false }
            $0.lastHealth = now
            return true
        }
        guard due else { return }
        let health = analysis.health
        let rate = analysis.requestedRate
        let snapshot: LiveFeed.SessionStatus? = state.withLock { state in
            guard state.status.state == .running, state.stop == nil else { return nil }
            state.analysedTimes.removeAll { $0.duration(to: now) > .seconds(5) }
            state.status.analysedFps = Double(state.analysedTimes.count) / 5
            state.status.requestedFps = rate
            state.status.latencyP50Ms = health.latencyP50Milliseconds
            state.status.latencyP95Ms = health.latencyP95Milliseconds
            state.status.dropped = health.dropped
            if let received = health.framesReceived { state.status.framesReceived = received }
            return state.status
        }
        if let snapshot { feed.update(snapshot) }
    }

    private func noteAnalysed() {
        state.withLock {
            $0.status.framesAnalysed += 1
            $0.analysedTimes.append(.now)
        }
        publishHealth()
    }
}
