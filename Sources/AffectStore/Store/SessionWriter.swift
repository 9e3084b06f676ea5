import AffectCore

/// The sink between a running analysis and the store: minimises each frame result to what the
/// session's mode allows and appends it in batches, so per-frame scores of an aggregate or group
/// session never leave memory.
///
/// Records are committed a batch at a time (``Batching``: by default every 250 ms or 20 records,
/// whichever comes first), one transaction per batch instead of one per frame. Each commit checks
/// consent in the same transaction, and while nothing is pending consent is still checked at the same
/// pace while frames are analysed: once the participant withdraws, the next commit or check fails with
/// ``StoreError/noConsent(participant:reason:)`` and the caller stops, so processing ends within one
/// batch. What a call returns is exactly what was committed by it, so a live view shows no more than
/// the store keeps, and only once it is kept.
///
/// A database that is briefly unreachable (``StoreError/backend(_:)``) does not end the session: the
/// batch stays pending and is tried again with growing pauses. Pending records are bounded by
/// ``Batching/bufferLimit``: once it is reached the writer is ``isBackedUp`` (a capture tells its page
/// to pause), and records that come while it is are dropped, never acknowledged, until a commit
/// gets through.
///
/// An actor: the analysis writes from its consume task, a ticker flushes due batches, and status
/// reports read ``recordsWritten``; the actor orders them (an `@unchecked Sendable` class hid a race).
public actor SessionWriter {
    /// When a batch is committed, and how much may wait while the database is unreachable.
    public struct Batching: Sendable, Hashable {
        /// A batch this large is committed at once.
        public var maximumRecords: Int
        /// A batch's first record waits at most this long (also the pace of consent checks when idle).
        public var maximumDelay: Duration
        /// Records kept pending while commits fail; at this many the writer is backed up and drops
        /// what comes until a commit gets through.
        public var bufferLimit: Int

        public init(maximumRecords: Int = 20, maximumDelay: Duration = .milliseconds(250), bufferLimit: Int = 3_000) {
            // A batch never holds more than the buffer may.
            self.bufferLimit = max(1, bufferLimit)
            self.maximumRecords = min(max(1, maximumRecords), self.bufferLimit)
            self.maximumDelay = maximumDelay
        }

        /// Every record committed on its own, as it comes (for tools that want each write to land at once).
        public static let immediate = Batching(maximumRecords: 1, maximumDelay: .zero)
    }

    nonisolated public let store: PrivacyStore
    nonisolated public let session: Session
    nonisolated public let policy: PrivacyStore.SessionPolicy
    nonisolated public let batching: Batching
    private var minimiser: ResultMinimiser
    public private(set) var recordsWritten = 0
    /// Minimised records not committed yet, oldest first, and when the oldest arrived.
    private var pending: [MinimisedRecord] = []
    private var pendingSince: ContinuousClock.Instant?
    private var lastCheck = ContinuousClock.now
    /// Whether a frame was analysed since consent was last checked: a paused page analyses nothing,
    /// so its idle ticks need no check (the ticker runs every 250 ms for every session).
    private var analysedSinceCheck = false
    /// After a failed commit, no new attempt before this; the pause doubles with each failure.
    private var retryAt: ContinuousClock.Instant?
    private var retryPause = Duration.milliseconds(250)
    /// Commits that failed because the database could not be reached, over the session.
    public private(set) var failedCommits = 0
    /// Records dropped because the buffer was full while the database could not be reached.
    public private(set) var recordsDropped = 0
    /// Whether the buffer is full (the database has not answered for a while): what comes now is
    /// dropped, so the page should pause until this is false again.
    public var isBackedUp: Bool { pending.count + inFlight >= batching.bufferLimit }
    /// Records of the batch being committed (out of `pending` while the store is awaited).
    private var inFlight = 0
    /// True while a batch's transaction runs. An actor lets other calls in while it awaits the store,
    /// so without this a ticker's call and a frame's call could both commit the same batch.
    private var committing = false

    /// Starts a session for a consenting participant (refused, with nothing stored, otherwise).
    public init(store: PrivacyStore, study: String, participant: String, stimulus: String? = nil, provenance: Provenance,
                actor: String, batching: Batching = Batching()) async throws {
        let session = try await store.startSession(study: study, participant: participant, stimulus: stimulus,
                                                   provenance: provenance, actor: actor)
        try await self.init(store: store, session: session, batching: batching)
    }

    /// Writes into a session already started (through a participant link, say).
    public init(store: PrivacyStore, session: Session, batching: Batching = Batching()) async throws {
        self.store = store
        self.session = session
        self.batching = batching
        policy = try await store.policy(forSession: session.id)
        minimiser = ResultMinimiser(mode: policy.mode, excluded: policy.excludedEmotions,
                                    windowMilliseconds: policy.windowMilliseconds)
    }

    /// What ``add(_:)`` leaves the caller to do.
    public struct Added: Sendable, Equatable {
        /// A batch is due and no commit is under way or asked for: the caller should start one
        /// (``flushIfDue(at:)``).
        public var commitDue: Bool
        /// The buffer is full (``isBackedUp``).
        public var backedUp: Bool
    }

    /// Adds what the session's mode keeps of one frame's result to the batch without waiting for the
    /// store. For a caller whose results must not wait on the database (a live capture: a stalled
    /// commit would otherwise hold up the results behind it, in a queue nothing bounds); the buffer
    /// here is bounded.
    public func add(_ result: FrameResult) -> Added {
        analysedSinceCheck = true
        add(minimiser.consume(result))
        return Added(commitDue: commitWanted(), backedUp: isBackedUp)
    }

    /// Adds a closed moment when the session's mode and opt-outs allow it, like ``add(_:)``.
    public func add(moment: Moment) -> Added {
        add(minimiser.consume(moment: moment))
        return Added(commitDue: commitWanted(), backedUp: isBackedUp)
    }

    /// A commit asked of the caller and not started yet.
    private var commitAsked = false

    private func commitWanted() -> Bool {
        guard !committing, !commitAsked, pending.count >= batching.maximumRecords else { return false }
        if let retryAt, ContinuousClock.now < retryAt { return false }
        commitAsked = true
        return true
    }

    /// Adds what the session's mode keeps of one frame's result to the batch; returns what was
    /// committed by this call (this frame's records and earlier ones, or nothing yet).
    @discardableResult
    public func record(_ result: FrameResult) async throws -> [MinimisedRecord] {
        analysedSinceCheck = true
        add(minimiser.consume(result))
        return try await flushIfDue()
    }

    /// Adds a closed moment when the session's mode and opt-outs allow it; returns what was committed.
    @discardableResult
    public func record(moment: Moment) async throws -> [MinimisedRecord] {
        add(minimiser.consume(moment: moment))
        return try await flushIfDue()
    }

    /// Commits the batch when it is full or its oldest record has waited long enough, and checks
    /// consent at that pace while nothing is pending. Call it periodically while a session runs, so a
    /// batch is not held back when frames stop coming.
    @discardableResult
    public func flushIfDue(at now: ContinuousClock.Instant = .now) async throws -> [MinimisedRecord] {
        if let retryAt, now < retryAt { return [] }
        if pending.count >= batching.maximumRecords || (pendingSince.map { $0.duration(to: now) >= batching.maximumDelay } ?? false) {
            return try await commit(at: now)
        }
        if pending.isEmpty && analysedSinceCheck && lastCheck.duration(to: now) >= batching.maximumDelay {
            lastCheck = now
            analysedSinceCheck = false
            do {
                try await store.checkConsent(session: session.id)
            } catch StoreError.unknownSession {
                throw StoreError.noConsent(participant: session.participantID, reason: "withdrawn")
            } catch StoreError.backend {
                // Unreachable now; the next check or commit tries again.
            }
        }
        return []
    }

    /// Writes what is still pending and open, and ends the session; returns the records committed last.
    /// A database that does not answer is tried for a while (the same growing pauses), then the error is thrown.
    @discardableResult
    ///
    /// With `job`, the job is marked done in the transaction that ends the session (see
    /// ``PrivacyStore/endSession(_:actor:epoch:completingJob:)``).
    public func finish(actor: String, completingJob job: (id: String, worker: String)? = nil) async throws -> [MinimisedRecord] {
        add(minimiser.finish())
        let committed = try await commitPending()
        try await store.endSession(session.id, actor: actor, epoch: session.epoch, completingJob: job)
        return committed
    }

    /// Writes what is pending and leaves the session open, for another capture to resume (a node
    /// shutting down hands its pages to others). A window still open is not written: the resumed
    /// capture analyses its frames again, from the media time the stored results reach.
    @discardableResult
    public func handOver() async throws -> [MinimisedRecord] {
        try await commitPending()
    }

    private func commitPending() async throws -> [MinimisedRecord] {
        var committed: [MinimisedRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !pending.isEmpty || committing {
            if ContinuousClock.now > deadline {
                throw StoreError.backend("the store did not answer for 30 s; \(pending.count) records of the session were not stored")
            }
            if committing {
                // Another call's batch is on its way; wait for it rather than commit beside it.
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            if let retryAt { try await Task.sleep(until: retryAt, clock: .continuous) }
            committed += try await commit(at: .now)
        }
        return committed
    }

    private func add(_ records: [MinimisedRecord]) {
        guard !records.isEmpty else { return }
        guard !isBackedUp else {
            recordsDropped += records.count
            return
        }
        if pending.isEmpty { pendingSince = .now }
        pending += records
    }

    /// One transaction for the whole batch; on success the batch is what the call returns. The batch
    /// leaves `pending` before the store is awaited, and goes back to its front if the store could not
    /// be reached; a call that finds a commit under way commits nothing.
    private func commit(at now: ContinuousClock.Instant) async throws -> [MinimisedRecord] {
        guard !pending.isEmpty, !committing else { return [] }
        committing = true
        commitAsked = false
        defer { committing = false }
        let batch = pending
        let batchSince = pendingSince
        pending = []
        pendingSince = nil
        inFlight = batch.count
        defer { inFlight = 0 }
        do {
            try await store.append(batch, toSession: session.id, epoch: session.epoch)
        } catch StoreError.unknownSession {
            // A withdrawal deletes the session with the rest of the participant's data: say why it is gone.
            throw StoreError.noConsent(participant: session.participantID, reason: "withdrawn")
        } catch StoreError.backend {
            failedCommits += 1
            pending = batch + pending
            pendingSince = batchSince ?? pendingSince
            retryAt = now.advanced(by: retryPause)
            retryPause = min(retryPause * 2, .seconds(2))
            return []
        }
        retryAt = nil
        retryPause = .milliseconds(250)
        lastCheck = now
        analysedSinceCheck = false
        recordsWritten += batch.count
        return batch
    }
}

extension PrivacyStore {
    /// Throws ``StoreError/noConsent(participant:reason:)`` unless the session's participant may be processed now.
    public func checkConsent(session id: String) async throws {
        try Identifier.validate(id, as: .session)
        try await database.transaction { transaction in
            let (_, study, participant) = try await self.sessionContext(transaction, id: id)
            if let problem = try await self.consentProblem(transaction, participant: participant, study: study) {
                throw StoreError.noConsent(participant: participant.id, reason: problem)
            }
        }
    }
}
