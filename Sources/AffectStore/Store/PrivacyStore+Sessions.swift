import AffectCore
import Foundation

extension PrivacyStore {
    /// Starts a session for a participant with valid consent; refuses (and stores nothing) otherwise.
    /// The session is owned by `owner` (the command or server writing it), whose writes renew its lease.
    public func startSession(study reference: String, participant id: String, stimulus: String? = nil,
                             provenance: Provenance, actor: String, owner: String = "command") async throws -> Session {
        try Identifier.validate(id, as: .participant)
        if let stimulus { try Identifier.validate(stimulus, as: .stimulus) }
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let participant = try await self.loadParticipant(transaction, id: id)
            guard participant.studyID == study.id else { throw StoreError.unknownParticipant(id) }
            return try await self.insertSession(transaction, study: study, participant: participant, stimulus: stimulus,
                                                provenance: provenance, actor: actor, owner: owner)
        }
    }

    /// Inserts a running session after checking consent and the stimulus; call inside a transaction.
    func insertSession(_ transaction: any SQLTransaction, study: Study, participant: Participant, stimulus: String?,
                       provenance: Provenance, actor: String, owner: String) async throws -> Session {
        if let problem = try await consentProblem(transaction, participant: participant, study: study) {
            throw StoreError.noConsent(participant: participant.id, reason: problem)
        }
        if let stimulus {
            let rows = try await transaction.query("SELECT id FROM stimuli WHERE id = ? AND study_id = ?",
                                                   [.text(stimulus), .text(study.id)])
            guard !rows.isEmpty else { throw StoreError.unknownStimulus(stimulus) }
        }
        let (provenanceID, models, configuration) = try Self.provenanceRow(provenance)
        let now = Clock.nowMilliseconds()
        // Sessions starting together share one provenance row: one statement decides who inserts it
        // (a check and an insert let two concurrent first sessions collide on PostgreSQL).
        try await transaction.execute(
            "INSERT INTO provenance (id, models, configuration, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [.text(provenanceID), .text(models), .text(configuration), .integer(now)])
        let sessionID = Identifier.make(.session)
        try await transaction.execute(
            """
            INSERT INTO sessions (id, study_id, participant_id, provenance_id, stimulus_id, started_at, ended_at, status,
                owner, lease_expires_at, epoch)
            VALUES (?, ?, ?, ?, ?, ?, NULL, 'running', ?, \(transaction.nowMilliseconds) + ?, 1)
            """,
            [.text(sessionID), .text(study.id), .text(participant.id), .text(provenanceID), SQLValue(stimulus), .integer(now),
             .text(owner), .integer(sessionLeaseMilliseconds)])
        try await audit(transaction, actor: actor, action: "session.start", subject: sessionID, details: [
            "study": study.id, "participant": participant.id, "provenance": provenanceID,
            "mode": study.definition.mode.rawValue, "stimulus": stimulus ?? "",
        ])
        return try await loadSession(transaction, id: sessionID)
    }

    /// A provenance's id (the SHA-256 of its canonical JSON) and that JSON, as stored.
    static func provenanceRow(_ provenance: Provenance) throws -> (id: String, models: String, configuration: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let models = String(decoding: try encoder.encode(provenance.models), as: UTF8.self)
        let configuration = String(decoding: try encoder.encode(provenance.configuration), as: UTF8.self)
        return (Identifier.sha256Hex(models + "\n" + configuration), models, configuration)
    }

    /// The rules a session's writes must follow, read once when it starts.
    public struct SessionPolicy: Sendable, Hashable {
        public var mode: ProcessingMode
        /// The study's and the participant's exclusions together.
        public var excludedEmotions: Set<Emotion>
        public var windowMilliseconds: Double
    }

    public func policy(forSession id: String) async throws -> SessionPolicy {
        try Identifier.validate(id, as: .session)
        return try await database.transaction { transaction in
            let (_, study, participant) = try await self.sessionContext(transaction, id: id)
            return SessionPolicy(mode: study.definition.mode,
                                 excludedEmotions: study.definition.excludedEmotions.union(participant.excludedEmotions),
                                 windowMilliseconds: study.definition.windowMilliseconds)
        }
    }

    /// How long one batch of results may take to commit, waiting for a connection included. Shorter
    /// than other transactions: a writer whose commit does not get through keeps its batch and tries
    /// again on a fresh connection request, which after a database restart is served sooner than one
    /// left waiting from before it.
    public static let appendDeadline = Duration.seconds(8)

    /// Appends results to a running session and renews its lease.
    ///
    /// Refuses, writing nothing, when consent is no longer valid (the caller must stop
    /// processing), when a record's shape is not the one the study's mode allows, when
    /// a record carries an expression the participant or study excluded, or when `epoch` is given
    /// and a resume through the link has raised the session's epoch since
    /// (``StoreError/sessionContinuedElsewhere(_:)``: the writer must stop).
    public func append(_ records: [MinimisedRecord], toSession id: String, epoch: Int64? = nil) async throws {
        guard !records.isEmpty else { return }
        try Identifier.validate(id, as: .session)
        try await database.transaction(deadline: Self.appendDeadline) { transaction in
            // The fence and the lease renewal are one statement, taken first: a resume committing
            // concurrently either happened before (this write is refused) or waits for this one.
            try await self.holdLease(transaction, session: id, epoch: epoch)
            let (session, study, participant) = try await self.sessionContext(transaction, id: id)
            guard session.status == "running" else { throw StoreError.sessionClosed(id) }
            if let problem = try await self.consentProblem(transaction, participant: participant, study: study) {
                throw StoreError.noConsent(participant: participant.id, reason: problem)
            }
            let mode = study.definition.mode
            let excluded = study.definition.excludedEmotions.union(participant.excludedEmotions)
            for record in records {
                guard record.mode == mode else { throw StoreError.modeForbids(record: record.noun, mode: mode.rawValue) }
                if let emotions = record.emotions, excluded.contains(where: { emotions[$0] != nil }) {
                    throw StoreError.constraint("a record carries an expression the participant or study excluded")
                }
                if case .moment = record, !excluded.isEmpty {
                    throw StoreError.constraint("moments are not stored for participants or studies with excluded expressions")
                }
                if case .face(let row) = record, row.track != nil, mode != .individual {
                    throw StoreError.modeForbids(record: "track ids", mode: mode.rawValue)
                }
                try await self.insert(record, session: id, transaction: transaction)
            }
        }
    }

    /// Ends a session; its data then waits for its study's retention period. With `epoch`, a writer
    /// fenced off by a resume ends nothing (the newer connection owns the session).
    ///
    /// With `job`, the job (held by `worker`) is marked done in the same transaction, and a session that
    /// is no longer this writer's, or a job taken over, ends nothing (``StoreError/jobLost(_:)``).
    public func endSession(_ id: String, actor: String, epoch: Int64? = nil,
                           completingJob job: (id: String, worker: String)? = nil) async throws {
        try Identifier.validate(id, as: .session)
        try await database.transaction { transaction in
            let (session, _, _) = try await self.sessionContext(transaction, id: id)
            guard session.status == "running" else {
                if let job { throw StoreError.jobLost(job.id) }
                return
            }
            if let epoch {
                let held = try await transaction.query("SELECT id FROM sessions WHERE id = ? AND epoch = ?" + transaction.forUpdate,
                                                       [.text(id), .integer(epoch)])
                guard !held.isEmpty else {
                    if let job { throw StoreError.jobLost(job.id) }
                    return
                }
            }
            if let job { try await self.completeJob(transaction, id: job.id, worker: job.worker) }
            try await transaction.execute("UPDATE sessions SET status = 'completed', ended_at = ? WHERE id = ?",
                                          [.integer(Clock.nowMilliseconds()), .text(id)])
            let counts = try await self.rowCounts(transaction, session: id).mapValues(String.init)
            try await self.audit(transaction, actor: actor, action: "session.end", subject: id, details: counts)
        }
    }

    /// A session's stored results in the order they were written.
    public func results(session id: String) async throws -> [MinimisedRecord] {
        try Identifier.validate(id, as: .session)
        return try await database.transaction { transaction in
            _ = try await self.sessionContext(transaction, id: id)
            return try await self.loadRecords(transaction, session: id)
        }
    }

    /// A session by id.
    public func session(_ id: String) async throws -> Session {
        try Identifier.validate(id, as: .session)
        return try await database.transaction { transaction in try await self.loadSession(transaction, id: id) }
    }

    /// The provenance row a session's scores reference.
    public func provenance(id: String) async throws -> Provenance? {
        try await database.transaction { transaction in
            guard let row = try await transaction.query("SELECT * FROM provenance WHERE id = ?", [.text(id)]).first else { return nil }
            let decoder = JSONDecoder()
            return Provenance(models: try decoder.decode([String: String].self, from: Data(try row.text("models").utf8)),
                              configuration: try decoder.decode([String: String].self, from: Data(try row.text("configuration").utf8)))
        }
    }

    /// Result rows a session holds, by table.
    func rowCounts(_ transaction: any SQLTransaction, session id: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in Schema.resultTables {
            let rows = try await transaction.query("SELECT COUNT(*) AS n FROM \(table) WHERE session_id = ?", [.text(id)])
            counts[table] = rows.first?["n"].int ?? 0
        }
        return counts
    }

    func loadSession(_ transaction: any SQLTransaction, id: String) async throws -> Session {
        guard let row = try await transaction.query("SELECT * FROM sessions WHERE id = ?", [.text(id)]).first else {
            throw StoreError.unknownSession(id)
        }
        return try Session(row: row)
    }

    func sessionContext(_ transaction: any SQLTransaction, id: String) async throws -> (Session, Study, Participant) {
        let session = try await loadSession(transaction, id: id)
        let study = try await loadStudy(transaction, reference: session.studyID)
        let participant = try await loadParticipant(transaction, id: session.participantID)
        return (session, study, participant)
    }

    /// Inserts one record; a row whose natural key is already stored (the same batch committed twice:
    /// a commit whose answer was lost, then retried) is skipped, so writes are idempotent.
    private func insert(_ record: MinimisedRecord, session: String, transaction: any SQLTransaction) async throws {
        func values(_ emotions: ReportedEmotions?) -> [SQLValue] {
            Emotion.allCases.map { SQLValue(emotions?[$0]) }
        }
        let marks = Array(repeating: "?", count: 7).joined(separator: ", ")
        switch record {
        case .face(let row):
            let measures = try row.measures.map { try StoredMeasures.encode(FaceMeasuresColumn(measures: $0, blink: row.blink)) }
            try await transaction.execute(
                """
                INSERT INTO face_results (session_id, frame, time_ms, track, frontal, measures, \(Schema.emotionColumns))
                VALUES (?, ?, ?, ?, ?, ?, \(marks)) ON CONFLICT DO NOTHING
                """,
                [.text(session), SQLValue(row.frame), .real(row.timeMilliseconds), SQLValue(row.track),
                 SQLValue(row.frontal.map { $0 ? 1 : 0 }), SQLValue(measures)] + values(row.emotions))
        case .noFace(let row):
            try await transaction.execute("INSERT INTO faceless_frames (session_id, frame, time_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                          [.text(session), SQLValue(row.frame), .real(row.timeMilliseconds)])
        case .group(let row):
            try await transaction.execute(
                """
                INSERT INTO group_frames (session_id, frame, time_ms, faces, frontal_faces, measures, \(Schema.emotionColumns))
                VALUES (?, ?, ?, ?, ?, ?, \(marks)) ON CONFLICT DO NOTHING
                """,
                [.text(session), SQLValue(row.frame), .real(row.timeMilliseconds), SQLValue(row.faces), SQLValue(row.frontalFaces),
                 SQLValue(try row.measures.map(StoredMeasures.encode))] + values(row.emotions))
        case .window(let row):
            try await transaction.execute(
                """
                INSERT INTO window_aggregates (session_id, start_ms, end_ms, frames, frames_with_face, frames_with_frontal_face,
                    measures, \(Schema.emotionColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, \(marks)) ON CONFLICT DO NOTHING
                """,
                [.text(session), .real(row.startMilliseconds), .real(row.endMilliseconds), SQLValue(row.frames),
                 SQLValue(row.framesWithFace), SQLValue(row.framesWithFrontalFace),
                 SQLValue(try row.measures.map(StoredMeasures.encode))] + values(row.emotions))
        case .moment(let moment):
            try await transaction.execute(
                "INSERT INTO moments (session_id, track, emotion, onset_ms, peak_ms, peak, end_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(session), SQLValue(moment.track), .text(moment.emotion.rawValue), .real(moment.onsetMilliseconds),
                 .real(moment.peakMilliseconds), .real(moment.peak), .real(moment.endMilliseconds)])
        }
    }

    /// A session's stored records; with `after`, only those past that media time (windows ending past it).
    func loadRecords(_ transaction: any SQLTransaction, session: String, after: Double? = nil) async throws -> [MinimisedRecord] {
        let bindings: [SQLValue] = [.text(session)] + (after.map { [.real($0)] } ?? [])
        func past(_ column: String) -> String { after == nil ? "" : " AND \(column) > ?" }
        func emotions(_ row: SQLRow) -> ReportedEmotions? {
            ReportedEmotions(probabilities: Emotion.allCases.map { row[$0.rawValue].double })
        }
        var records: [MinimisedRecord] = []
        for row in try await transaction.query("SELECT * FROM face_results WHERE session_id = ?" + past("time_ms") + " ORDER BY frame, track", bindings) {
            let measured = try row["measures"].string.map { try StoredMeasures.decode(FaceMeasuresColumn.self, $0) }
            records.append(.face(FaceRow(frame: Int(try row.integer("frame")), timeMilliseconds: try row.real("time_ms"),
                                         track: row["track"].int, emotions: try emotions(row).orThrow(column: "angry"),
                                         frontal: row["frontal"].int64.map { $0 != 0 }, measures: measured?.measures,
                                         blink: measured?.blink)))
        }
        for row in try await transaction.query("SELECT * FROM faceless_frames WHERE session_id = ?" + past("time_ms") + " ORDER BY frame", bindings) {
            records.append(.noFace(FacelessFrameRow(frame: Int(try row.integer("frame")), timeMilliseconds: try row.real("time_ms"))))
        }
        for row in try await transaction.query("SELECT * FROM group_frames WHERE session_id = ?" + past("time_ms") + " ORDER BY frame", bindings) {
            records.append(.group(GroupFrameRow(frame: Int(try row.integer("frame")), timeMilliseconds: try row.real("time_ms"),
                                                faces: Int(try row.integer("faces")), frontalFaces: row["frontal_faces"].int,
                                                emotions: emotions(row),
                                                measures: try row["measures"].string.map { try StoredMeasures.decode(MeasureSummary.self, $0) })))
        }
        for row in try await transaction.query("SELECT * FROM window_aggregates WHERE session_id = ?" + past("end_ms") + " ORDER BY start_ms", bindings) {
            records.append(.window(WindowAggregateRow(
                startMilliseconds: try row.real("start_ms"), endMilliseconds: try row.real("end_ms"),
                frames: Int(try row.integer("frames")), framesWithFace: Int(try row.integer("frames_with_face")),
                framesWithFrontalFace: row["frames_with_frontal_face"].int,
                emotions: emotions(row),
                measures: try row["measures"].string.map { try StoredMeasures.decode(MeasureSummary.self, $0) })))
        }
        for row in try await transaction.query("SELECT * FROM moments WHERE session_id = ?" + past("onset_ms") + " ORDER BY onset_ms", bindings) {
            records.append(.moment(Moment(
                track: Int(try row.integer("track")),
                emotion: try Emotion(rawValue: try row.text("emotion")).orThrow(column: "emotion"),
                onsetMilliseconds: try row.real("onset_ms"), peakMilliseconds: try row.real("peak_ms"),
                peak: try row.real("peak"), endMilliseconds: try row.real("end_ms"))))
        }
        return records
    }
}

extension MinimisedRecord {
    var noun: String {
        switch self {
        case .face: "per-face rows"
        case .noFace: "frames without a face"
        case .group: "per-frame group rows"
        case .window: "window aggregates"
        case .moment: "per-face moments"
        }
    }

    var emotions: ReportedEmotions? {
        switch self {
        case .face(let row): row.emotions
        case .group(let row): row.emotions
        case .window(let row): row.emotions
        case .moment, .noFace: nil
        }
    }
}
