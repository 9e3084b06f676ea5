import AffectCore

/// Batch analysis across machines: recorded videos queued as jobs, claimed by `affect worker`
/// processes with a lease, and each done exactly once.
///
/// A claim is one statement that takes the oldest job nobody holds (queued, or running under a lease
/// that ran out) and skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
/// SQLite's `BEGIN IMMEDIATE` admits one claim at a time). A job's results go to one session: a
/// worker taking over a dead worker's job resumes that session (its epoch rises, fencing the dead
/// one's writes) from the media time its stored results reach, and rows already stored are skipped by
/// their natural keys, since a file's frames are the same every time it is read. The job is marked
/// done in the transaction that ends its session, and only by the worker holding it.
extension PrivacyStore {
    /// Queues `sources` for analysis into `study`'s session of `participant`, who must have consented.
    public func submitJobs(study reference: String, participant: String, sources: [String], actor: String) async throws -> [Job] {
        try Identifier.validate(participant, as: .participant)
        guard !sources.isEmpty, sources.count <= 10_000 else { throw StoreError.invalidInput("give 1 to 10000 videos per submission") }
        for source in sources where source.isEmpty || source.utf8.count > 4096 || source.contains(where: \.isNewline) {
            throw StoreError.invalidInput("a video is a path or URL of at most 4096 bytes on one line")
        }
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let person = try await self.loadParticipant(transaction, id: participant)
            guard person.studyID == study.id else { throw StoreError.unknownParticipant(participant) }
            if let problem = try await self.consentProblem(transaction, participant: person, study: study) {
                throw StoreError.noConsent(participant: participant, reason: problem)
            }
            var jobs: [Job] = []
            for source in sources {
                let id = Identifier.make(.job)
                let rows = try await transaction.query(
                    """
                    INSERT INTO jobs (id, study_id, participant_id, source, status, attempts, submitted_at)
                    VALUES (?, ?, ?, ?, 'queued', 0, \(transaction.nowMilliseconds)) RETURNING *
                    """, [.text(id), .text(study.id), .text(participant), .text(source)])
                jobs += try rows.map(Job.init(row:))
            }
            try await self.audit(transaction, actor: actor, action: "job.submit", subject: study.id,
                                 details: ["participant": participant, "jobs": String(jobs.count)])
            return jobs
        }
    }

    /// How many times a job is taken before it fails: a video that kills every worker that reads it
    /// would otherwise be taken over for ever.
    public static let maximumJobAttempts = 5

    /// Takes the oldest job nobody holds for `worker`, under a lease of `leaseMilliseconds`; nil when
    /// there is none. Many workers claiming at once each get a different job. A job whose worker died
    /// ``maximumJobAttempts`` times fails instead of being taken again.
    public func claimJob(worker: String, leaseMilliseconds: Int64) async throws -> Job? {
        try await database.transaction { transaction in
            let now = transaction.nowMilliseconds
            try await transaction.execute(
                """
                UPDATE jobs SET status = 'failed', owner = NULL, lease_expires_at = NULL, finished_at = \(now),
                    error = 'every worker that took it stopped before it was done (' || attempts || ' attempts)'
                WHERE status = 'running' AND lease_expires_at < \(now) AND attempts >= ?
                """, [.integer(Int64(Self.maximumJobAttempts))])
            let skipLocked = transaction.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            return try await transaction.query(
                """
                UPDATE jobs SET status = 'running', owner = ?, lease_expires_at = \(now) + ?, attempts = attempts + 1
                WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < \(now))
                            ORDER BY submitted_at, id LIMIT 1\(skipLocked))
                RETURNING *
                """, [.text(worker), .integer(leaseMilliseconds)]
            ).first.map(Job.init(row:))
        }
    }

    /// Renews the lease on a job the worker still holds, and its session's; false when the job was
    /// taken over (the worker's lease ran out) or ended: the worker should stop it.
    public func renewJob(_ id: String, worker: String, leaseMilliseconds: Int64) async throws -> Bool {
        try await database.transaction { transaction in
            let held = try await transaction.query(
                """
                UPDATE jobs SET lease_expires_at = \(transaction.nowMilliseconds) + ?
                WHERE id = ? AND owner = ? AND status = 'running' RETURNING session_id
                """, [.integer(leaseMilliseconds), .text(id), .text(worker)])
            guard let row = held.first else { return false }
            if let session = row["session_id"].string {
                try await transaction.execute(
                    "UPDATE sessions SET lease_expires_at = \(transaction.nowMilliseconds) + ? WHERE id = ? AND owner = ? AND status = 'running'",
                    [.integer(self.sessionLeaseMilliseconds), .text(session), .text(worker)])
            }
            return true
        }
    }

    /// The session a claimed job writes to: a new one on its first run, or the one an earlier worker
    /// started, resumed (epoch raised, so that worker's writes are refused) with the media time its
    /// stored results reach, before which frames are skipped.
    public func startJobSession(_ job: Job, worker: String, provenance: Provenance) async throws -> JobSession {
        try await database.transaction { transaction in
            let held = try await transaction.query("SELECT * FROM jobs WHERE id = ? AND owner = ? AND status = 'running'" + transaction.forUpdate,
                                                   [.text(job.id), .text(worker)])
            guard let current = try held.first.map(Job.init(row:)) else { throw StoreError.jobLost(job.id) }
            let actor = "worker:\(job.id)"
            if let sessionID = current.sessionID {
                let earlier = try await self.loadSession(transaction, id: sessionID)
                guard earlier.provenanceID == (try Self.provenanceRow(provenance).id) else {
                    throw StoreError.invalidInput("job \(job.id) was started with other models; it cannot be continued by this worker")
                }
                let resumeFrom = try await self.resumeSession(transaction, earlier, owner: worker, actor: actor,
                                                              details: ["job": job.id])
                return .init(session: try await self.loadSession(transaction, id: sessionID), resumeFromMilliseconds: resumeFrom)
            }
            let study = try await self.loadStudy(transaction, reference: job.studyID)
            let participant = try await self.loadParticipant(transaction, id: job.participantID)
            let session = try await self.insertSession(transaction, study: study, participant: participant, stimulus: nil,
                                                       provenance: provenance, actor: actor, owner: worker)
            try await transaction.execute("UPDATE jobs SET session_id = ? WHERE id = ?", [.text(session.id), .text(job.id)])
            return .init(session: session, resumeFromMilliseconds: nil)
        }
    }

    /// How many jobs are queued or running: a worker told to exit when idle waits while any runs,
    /// since a running job whose worker died comes back once its lease runs out.
    public func unfinishedJobs() async throws -> Int {
        try await database.transaction { transaction in
            Int(try await transaction.query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running')")
                .first?["n"].int64 ?? 0)
        }
    }

    /// Marks a job failed (its video could not be read, consent was withdrawn): it is not tried again.
    public func failJob(_ id: String, worker: String, reason: String) async throws {
        try await database.transaction { transaction in
            try await transaction.execute(
                """
                UPDATE jobs SET status = 'failed', error = ?, owner = NULL, lease_expires_at = NULL,
                    finished_at = \(transaction.nowMilliseconds)
                WHERE id = ? AND owner = ? AND status = 'running'
                """, [.text(String(reason.prefix(500))), .text(id), .text(worker)])
        }
    }

    /// Jobs, newest first; of one study when given.
    public func jobs(study reference: String? = nil, limit: Int = 1000) async throws -> [Job] {
        try await database.transaction { transaction in
            if let reference {
                let study = try await self.loadStudy(transaction, reference: reference)
                return try await transaction.query("SELECT * FROM jobs WHERE study_id = ? ORDER BY submitted_at DESC, id LIMIT ?",
                                                   [.text(study.id), .integer(Int64(limit))]).map(Job.init(row:))
            }
            return try await transaction.query("SELECT * FROM jobs ORDER BY submitted_at DESC, id LIMIT ?",
                                               [.integer(Int64(limit))]).map(Job.init(row:))
        }
    }

    /// Inside the transaction that ends a job's session: the job is done, if `worker` still holds it.
    func completeJob(_ transaction: any SQLTransaction, id: String, worker: String) async throws {
        let done = try await transaction.query(
            """
            UPDATE jobs SET status = 'done', owner = NULL, lease_expires_at = NULL, finished_at = \(transaction.nowMilliseconds)
            WHERE id = ? AND owner = ? AND status = 'running' RETURNING id
            """, [.text(id), .text(worker)])
        if done.isEmpty { throw StoreError.jobLost(id) }
    }
}

extension PrivacyStore {
    /// The session a worker writes a job's results to.
    public struct JobSession: Sendable {
        public var session: Session
        /// Frames before this media time are stored already (nil for a new session).
        public var resumeFromMilliseconds: Double?
    }
}
