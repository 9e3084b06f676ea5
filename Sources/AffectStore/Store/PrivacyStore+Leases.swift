import AffectCore

/// Crash recovery for running sessions.
///
/// A running session has an owner (a server process, or a command) that holds a lease on the
/// database's clock and renews it with every write and periodically in between. When a server dies,
/// its leases run out: ``leaseRound(renewing:actor:)`` (which servers run at start and every
/// few seconds) marks those sessions `interrupted`, so retention, purge and reports count them. A
/// page that reconnects through its link resumes its session instead: the session's epoch rises,
/// which fences off any earlier owner still writing, and the page is told the media time its stored
/// results reach so nothing is written twice.
extension PrivacyStore {
    /// Renews the lease of a session its caller still writes; with `epoch`, refuses
    /// (``StoreError/sessionContinuedElsewhere(_:)``) when a resume raised the session's epoch since.
    func holdLease(_ transaction: any SQLTransaction, session id: String, epoch: Int64?) async throws {
        var sql = "UPDATE sessions SET lease_expires_at = \(transaction.nowMilliseconds) + ? WHERE id = ? AND status = 'running'"
        var bindings: [SQLValue] = [.integer(sessionLeaseMilliseconds), .text(id)]
        if let epoch {
            sql += " AND epoch = ?"
            bindings.append(.integer(epoch))
        }
        let held = try await transaction.query(sql + " RETURNING id", bindings)
        guard held.isEmpty else { return }
        let session = try await loadSession(transaction, id: id)
        if session.status != "running" { throw StoreError.sessionClosed(id) }
        throw StoreError.sessionContinuedElsewhere(id)
    }

    /// What one ``leaseRound(renewing:actor:)`` did.
    public struct LeaseRound: Sendable, Equatable {
        /// Sessions the caller runs whose lease it holds no longer (ended, or resumed at a higher epoch
        /// elsewhere): the caller should stop them.
        public var lost: [String]
        /// Sessions of owners that stopped renewing, now `interrupted`.
        public var interrupted: [String]
    }

    /// A server's periodic upkeep, in one transaction: renews the leases of the sessions it runs, then
    /// marks `interrupted` every running session whose lease has run out. One transaction, so a
    /// server's own sessions are renewed on the same database clock the expiry is judged by: a round
    /// that waited for the database (an outage, a full pool) longer than a lease cannot interrupt the
    /// sessions its own server is running.
    ///
    /// - Parameter sessions: the sessions to renew, asked for once the transaction has its connection
    ///   (not before: a round that waited for one would otherwise miss sessions started meanwhile, and
    ///   interrupt them once their first lease ran out).
    public func leaseRound(renewing sessions: @escaping @Sendable () -> [(id: String, epoch: Int64)],
                           actor: String) async throws -> LeaseRound {
        try await database.transaction { transaction in
            let lost = try await self.renewLeases(transaction, sessions())
            return LeaseRound(lost: lost, interrupted: try await self.interruptExpiredSessions(transaction, actor: actor))
        }
    }

    /// Renews the leases of sessions an owner is still running (between writes: a paused page
    /// writes nothing for a while). Returns the ids whose lease it holds no longer (ended, or resumed
    /// at a higher epoch elsewhere), which the owner should stop.
    public func renewLeases(_ sessions: [(id: String, epoch: Int64)]) async throws -> [String] {
        guard !sessions.isEmpty else { return [] }
        return try await database.transaction { transaction in try await self.renewLeases(transaction, sessions) }
    }

    private func renewLeases(_ transaction: any SQLTransaction, _ sessions: [(id: String, epoch: Int64)]) async throws -> [String] {
        var lost: [String] = []
        for session in sessions {
            let held = try await transaction.query(
                """
                UPDATE sessions SET lease_expires_at = \(transaction.nowMilliseconds) + ?
                WHERE id = ? AND epoch = ? AND status = 'running' RETURNING id
                """, [.integer(sessionLeaseMilliseconds), .text(session.id), .integer(session.epoch)])
            if held.isEmpty { lost.append(session.id) }
        }
        return lost
    }

    /// Marks `interrupted` every running session whose lease has run out (its owner died without
    /// ending it), ended when the lease ran out, each audited. Safe to run on every node at once:
    /// one statement decides which sessions change, and a session changes once.
    @discardableResult
    public func interruptExpiredSessions(actor: String) async throws -> [String] {
        try await database.transaction { transaction in try await self.interruptExpiredSessions(transaction, actor: actor) }
    }

    private func interruptExpiredSessions(_ transaction: any SQLTransaction, actor: String) async throws -> [String] {
        let interrupted = try await transaction.query(
            """
            UPDATE sessions SET status = 'interrupted', ended_at = lease_expires_at
            WHERE status = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < \(transaction.nowMilliseconds)
            RETURNING id, owner
            """)
        for row in interrupted {
            let id = try row.text("id")
            let counts = try await rowCounts(transaction, session: id).mapValues(String.init)
            try await audit(transaction, actor: actor, action: "session.interrupt", subject: id,
                            details: counts.merging(["owner": row["owner"].string ?? ""]) { first, _ in first })
        }
        return try interrupted.map { try $0.text("id") }
    }

    /// How a link's capture starts: a new session, or the link's earlier one resumed.
    public struct LinkSession: Sendable {
        public var session: Session
        public var link: ParticipantLink
        /// Set when the session was resumed: frames at media times before this were already stored
        /// and are ignored (nil for a new session).
        public var resumeFromMilliseconds: Double?
    }

    /// Starts the link's one capture session, or resumes it when the link already has a session that
    /// did not complete (the page lost its connection, or the server died): the epoch rises, the
    /// caller owns the session from now on, and any earlier owner's writes are refused. A completed
    /// session, or one the caller's provenance did not score (a resumed session keeps one set of
    /// models), is refused.
    public func startSession(throughInvitation secret: String, provenance: Provenance,
                             owner: String) async throws -> LinkSession {
        try await startSession(throughInvitation: secret, owner: owner) { _ in provenance }
    }

    /// ``startSession(throughInvitation:provenance:owner:)`` with the provenance chosen by the link (a
    /// study that measures faces is scored by more models; device analysis by the page's).
    public func startSession(throughInvitation secret: String, owner: String,
                             provenance provenanceFor: @escaping @Sendable (ParticipantLink) -> Provenance) async throws -> LinkSession {
        try await database.transaction { transaction in
            // Locked first: ten sockets opened at once on one link start or resume one session between them.
            let link = try await self.consentedLink(transaction, secret: secret, locking: true)
            let provenance = provenanceFor(link)
            let actor = "participant:\(link.invitation.id)"
            if let sessionID = link.invitation.sessionID {
                let earlier = try await self.loadSession(transaction, id: sessionID)
                guard earlier.status == "running" || earlier.status == "interrupted" else {
                    throw StoreError.invitationUnusable("has already been used for a session")
                }
                guard earlier.provenanceID == (try Self.provenanceRow(provenance).id) else {
                    throw StoreError.invitationUnusable("has a session scored by other models, which cannot be continued here")
                }
                let resumeFrom = try await self.resumeSession(transaction, earlier, owner: owner, actor: actor)
                return LinkSession(session: try await self.loadSession(transaction, id: sessionID), link: link,
                                   resumeFromMilliseconds: resumeFrom ?? 0)
            }
            let session = try await self.insertSession(transaction, study: link.study, participant: link.participant,
                                                       stimulus: link.invitation.stimulusID, provenance: provenance,
                                                       actor: actor, owner: owner)
            let claimed = try await transaction.query(
                "UPDATE invitations SET session_id = ? WHERE id = ? AND session_id IS NULL RETURNING id",
                [.text(session.id), .text(link.invitation.id)])
            guard !claimed.isEmpty else { throw StoreError.invitationUnusable("has already been used for a session") }
            var started = link
            started.invitation.sessionID = session.id
            return LinkSession(session: session, link: started, resumeFromMilliseconds: nil)
        }
    }

    /// Takes a session over for `owner`, inside the caller's transaction: its epoch rises (so the
    /// earlier owner's writes are refused), it runs again under a fresh lease, and the resume is
    /// audited. Returns the media time its stored results reach (nil when nothing is stored).
    func resumeSession(_ transaction: any SQLTransaction, _ earlier: Session, owner: String, actor: String,
                       details: [String: String] = [:]) async throws -> Double? {
        let resumed = try await transaction.query(
            """
            UPDATE sessions SET epoch = epoch + 1, status = 'running', ended_at = NULL, owner = ?,
                lease_expires_at = \(transaction.nowMilliseconds) + ?
            WHERE id = ? RETURNING epoch
            """, [.text(owner), .integer(sessionLeaseMilliseconds), .text(earlier.id)])
        let resumeFrom = try await storedMediaEnd(transaction, session: earlier.id)
        try await audit(transaction, actor: actor, action: "session.resume", subject: earlier.id, details: details.merging([
            "epoch": String(resumed.first?["epoch"].int64 ?? 0), "was": earlier.status,
            "resume_from_ms": resumeFrom.map { String($0) } ?? "",
        ]) { _, new in new })
        return resumeFrom
    }

    /// The media time a session's stored results reach: frames before it are covered (the latest
    /// stored frame's time, just past it; or the end of the latest stored window). Nil when nothing is stored.
    func storedMediaEnd(_ transaction: any SQLTransaction, session id: String) async throws -> Double? {
        var end: Double?
        for table in ["face_results", "faceless_frames", "group_frames"] {
            if let latest = try await transaction.query("SELECT MAX(time_ms) AS t FROM \(table) WHERE session_id = ?", [.text(id)])
                .first?["t"].double {
                end = max(end ?? latest.nextUp, latest.nextUp)
            }
        }
        if let windowEnd = try await transaction.query("SELECT MAX(end_ms) AS t FROM window_aggregates WHERE session_id = ?",
                                                       [.text(id)]).first?["t"].double {
            end = max(end ?? windowEnd, windowEnd)
        }
        return end
    }
}
