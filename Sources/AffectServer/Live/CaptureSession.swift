import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import Foundation
import Logging

/// One participant's capture, from the WebSocket's opening to its close: frames go into a
/// ``PushFrameSource`` on the shared engine; the engine's results come back through ``consume(_:)``
/// into the ``SessionWriter``, which keeps what the study's mode allows, and on to the ``LiveFeed``.
final class CaptureSession: @unchecked Sendable {
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
    }

    let link: PrivacyStore.ParticipantLink
    let writer: SessionWriter
    let source: PushFrameSource
    let streamID: Int
    let outputs: AsyncStream<Output>
    let outputContinuation: AsyncStream<Output>.Continuation
    private let engine: LiveEngine
    private let feed: LiveFeed
    private let logger: Logger
    private let lock = NSLock()
    private var status: LiveFeed.SessionStatus
    private var stop: Stop?
    private var onStop: (@Sendable (Stop) -> Void)?
    private var onStored: (@Sendable ([LiveFeed.SessionPoint]) -> Void)?
    private var lastMediaMilliseconds = -Double.infinity
    private var analysedTimes: [ContinuousClock.Instant] = []
    private var lastHealth = ContinuousClock.now

    var sessionID: String { writer.session.id }
    /// For a resumed session, the media time its stored results reach (see ``PrivacyStore/LinkSession``).
    let resumeFrom: Double?

    /// - Parameter resumeFrom: for a resumed session, the media time its stored results reach: earlier
    ///   frames are skipped, so nothing is stored twice.
    init(link: PrivacyStore.ParticipantLink, writer: SessionWriter, source: PushFrameSource, streamID: Int,
         outputs: AsyncStream<Output>, outputContinuation: AsyncStream<Output>.Continuation, engine: LiveEngine, feed: LiveFeed,
         logger: Logger, resumeFrom: Double? = nil) {
        if let resumeFrom { lastMediaMilliseconds = resumeFrom.nextDown }
        self.resumeFrom = resumeFrom
        self.logger = logger
        self.link = link
        self.writer = writer
        self.source = source
        self.streamID = streamID
        self.outputs = outputs
        self.outputContinuation = outputContinuation
        self.engine = engine
        self.feed = feed
        status = LiveFeed.SessionStatus(session: writer.session.id, study: writer.session.studyID,
                                        stimulus: writer.session.stimulusID, mode: writer.policy.mode, state: .running,
                                        startedAt: writer.session.startedAt)
        feed.update(status)
    }

    /// Why the capture was stopped by the server, if it was.
    var stopReason: Stop? { lock.withLock { stop } }

    private var disconnected = false
    /// Set once the session is being closed: its lease may then lapse without meaning anything.
    private var finishing = false

    /// Whether the capture is still taking frames (not stopped, not closing).
    var isCapturing: Bool { lock.withLock { stop == nil && !finishing } }

    /// The page's connection went away without ending the session: the session stays open (its
    /// lease runs out unless the page resumes through its link), and the open window is not closed.
    func markDisconnected() {
        lock.withLock { disconnected = true }
    }

    /// Called once when the server stops the capture (withdrawal, a failed stream), to close the socket.
    func onStop(_ body: @escaping @Sendable (Stop) -> Void) {
        let already = lock.withLock {
            onStop = body
            return stop
        }
        if let already { body(already) }
    }

    /// Called with the points of every record stored, for a study that shows participants their own results.
    func onStored(_ body: @escaping @Sendable ([LiveFeed.SessionPoint]) -> Void) {
        lock.withLock { onStored = body }
    }

    private var onCommitted: (@Sendable ([Double]) -> Void)?
    private var onHeld: (@Sendable (Bool) -> Void)?
    /// Whether the page has been told to pause because the writer's buffer is full.
    private var held = false

    /// Called with true when the writer's buffer fills (the database has not answered for a while:
    /// the page should pause, and frames that come meanwhile are not analysed) and with false once
    /// commits get through again.
    func onHeld(_ body: @escaping @Sendable (Bool) -> Void) {
        lock.withLock { onHeld = body }
    }

    /// Called, once they are committed, with the media times of the records just stored (a frame's
    /// time, a window's start): the page's acknowledgement that they survive a crash.
    func onCommitted(_ body: @escaping @Sendable ([Double]) -> Void) {
        lock.withLock { onCommitted = body }
    }

    /// Stops the capture for `reason` (the first reason wins) and ends the engine's stream.
    func stop(_ reason: Stop) {
        let callback: (@Sendable (Stop) -> Void)? = lock.withLock {
            guard stop == nil else { return nil }
            stop = reason
            return onStop
        }
        engine.end(stream: streamID)
        callback?(reason)
    }

    /// Offers a frame to the engine. Frames whose media time does not move forward (a paused or
    /// re-sent frame) are skipped: results are keyed by stimulus time.
    func push(_ frame: FrameMessage) throws(PushFrameSource.Rejection) -> Bool {
        let fresh = lock.withLock {
            status.framesReceived += 1
            // While the store is backed up a frame's results could not be kept: not analysed at all.
            guard !held, frame.mediaMilliseconds > lastMediaMilliseconds else { return false }
            lastMediaMilliseconds = frame.mediaMilliseconds
            status.mediaMs = frame.mediaMilliseconds
            return true
        }
        guard fresh else { return false }
        try source.push(frame.jpeg, capturedAt: frame.mediaMilliseconds)
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
        let changed: (@Sendable (Bool) -> Void)?? = lock.withLock {
            guard backedUp != held else { return nil }
            held = backedUp
            return .some(onHeld)
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
        default: "the server could not go on analysing this session"
        }
    }

    /// Shows records just stored on the dashboard, and to the participant when the study allows it.
    /// Shows stored records on the feed and the page's readout, and counts them (the count the
    /// status reports, kept under this session's lock rather than read across from the writer).
    private func published(_ records: [MinimisedRecord]) {
        let acknowledge = lock.withLock {
            status.recordsWritten += records.count
            return onCommitted
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
        if !points.isEmpty, let readout = lock.withLock({ onStored }) { readout(points) }
    }

    /// Ends the session in the store (unless its data went with a withdrawal, or the page only lost
    /// its connection) and in the feed.
    func finish(actor: String) async {
        lock.withLock { finishing = true }
        if lock.withLock({ disconnected && stop == nil }) {
            return showInterrupted(because: "the page's connection dropped; it may resume through its link")
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
        let final = lock.withLock {
            switch stop {
            case .failed(let reason), .badFrame(let reason): status.state = .failed; status.reason = reason
            default:
                status.state = failure == nil ? .ended : .failed
                status.reason = failure
            }
            return status
        }
        feed.update(final)
    }

    /// Shows the session as interrupted on the dashboard: it stays open for the page to resume.
    private func showInterrupted(because reason: String) {
        let final = lock.withLock {
            status.state = .interrupted
            status.reason = reason
            return status
        }
        feed.update(final)
    }

    /// Publishes health at most once a second.
    func publishHealth(force: Bool = false) {
        let now = ContinuousClock.now
        let due = lock.withLock {
            guard force || lastHealth.duration(to: now) >= .seconds(1) else { return false }
            lastHealth = now
            return true
        }
        guard due else { return }
        let report = engine.currentReport(stream: streamID)
        let rate = engine.requestedRate(stream: streamID)
        let snapshot: LiveFeed.SessionStatus? = lock.withLock {
            guard status.state == .running, stop == nil else { return nil }
            analysedTimes.removeAll { $0.duration(to: now) > .seconds(5) }
            status.analysedFps = Double(analysedTimes.count) / 5
            status.requestedFps = rate
            status.latencyP50Ms = report?.latency?.p50
            status.latencyP95Ms = report?.latency?.p95
            status.dropped = report?.dropped.values.reduce(0, +) ?? 0
            return status
        }
        if let snapshot { feed.update(snapshot) }
    }

    private func noteAnalysed() {
        lock.withLock {
            status.framesAnalysed += 1
            analysedTimes.append(.now)
        }
        publishHealth()
    }
}
