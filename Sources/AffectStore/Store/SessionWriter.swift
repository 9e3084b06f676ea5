import AffectCore

/// The sink between a running analysis and the store: minimises each frame result to what the
/// session's mode allows and appends it, so per-frame scores of an aggregate or group session
/// never leave memory.
///
/// ``record(_:)`` checks consent with every write (the store does, in the same transaction): once
/// the participant withdraws, the next frame's write fails with ``StoreError/noConsent(participant:reason:)``
/// and the caller stops, so processing ends within one analysed frame.
///
/// An actor: the analysis writes from its consume task while the socket's task and the status
/// reports read ``recordsWritten``; the actor orders them (an `@unchecked Sendable` class hid that race).
public actor SessionWriter {
    nonisolated public let store: PrivacyStore
    nonisolated public let session: Session
    nonisolated public let policy: PrivacyStore.SessionPolicy
    private var minimiser: ResultMinimiser
    public private(set) var recordsWritten = 0

    /// Starts a session for a consenting participant (refused, with nothing stored, otherwise).
    public init(store: PrivacyStore, study: String, participant: String, stimulus: String? = nil, provenance: Provenance,
                actor: String) async throws {
        let session = try await store.startSession(study: study, participant: participant, stimulus: stimulus,
                                                   provenance: provenance, actor: actor)
        try await self.init(store: store, session: session)
    }

    /// Writes into a session already started (through a participant link, say).
    public init(store: PrivacyStore, session: Session) async throws {
        self.store = store
        self.session = session
        policy = try await store.policy(forSession: session.id)
        minimiser = ResultMinimiser(mode: policy.mode, excluded: policy.excludedEmotions,
                                    windowMilliseconds: policy.windowMilliseconds)
    }

    /// Stores what the session's mode keeps of one frame's result; returns exactly what was stored,
    /// so a live view can show no more than the store keeps.
    @discardableResult
    public func record(_ result: FrameResult) async throws -> [MinimisedRecord] {
        // With an aggregate window still open there is nothing to write, but consent must still hold.
        try await write(minimiser.consume(result), checkingConsentIfEmpty: true)
    }

    /// Stores a closed moment when the session's mode and opt-outs allow it.
    @discardableResult
    public func record(moment: Moment) async throws -> [MinimisedRecord] {
        try await write(minimiser.consume(moment: moment), checkingConsentIfEmpty: false)
    }

    private func write(_ records: [MinimisedRecord], checkingConsentIfEmpty: Bool) async throws -> [MinimisedRecord] {
        do {
            if records.isEmpty {
                if checkingConsentIfEmpty { try await store.checkConsent(session: session.id) }
                return []
            }
            try await store.append(records, toSession: session.id, epoch: session.epoch)
            recordsWritten += records.count
            return records
        } catch StoreError.unknownSession {
            // A withdrawal deletes the session with the rest of the participant's data: say why it is gone.
            throw StoreError.noConsent(participant: session.participantID, reason: "withdrawn")
        }
    }

    /// Writes what is still open and ends the session; returns the records written last.
    @discardableResult
    public func finish(actor: String) async throws -> [MinimisedRecord] {
        let records = minimiser.finish()
        try await store.append(records, toSession: session.id, epoch: session.epoch)
        recordsWritten += records.count
        try await store.endSession(session.id, actor: actor, epoch: session.epoch)
        return records
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
