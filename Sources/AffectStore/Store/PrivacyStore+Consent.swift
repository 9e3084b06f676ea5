import AffectCore
import Foundation

extension PrivacyStore {
    /// What a participant agreed to, as the capture page or `affect consent record` submits it.
    public struct ConsentRequest: Sendable {
        public var study: String
        /// An existing participant of the study, or nil to enrol a new pseudonymous one.
        public var participant: String?
        /// The exact notice text shown; its SHA-256 is recorded.
        public var noticeText: String
        public var purposes: [String]
        /// Expressions the participant excludes.
        public var excludedEmotions: Set<Emotion>
        /// Self-reported segment attributes; need ``Consent/segmentPurpose`` among the purposes.
        public var segment: [String: String]?

        public init(study: String, participant: String? = nil, noticeText: String,
                    purposes: [String] = [Consent.analysisPurpose], excludedEmotions: Set<Emotion> = [],
                    segment: [String: String]? = nil) {
            self.study = study
            self.participant = participant
            self.noticeText = noticeText
            self.purposes = purposes
            self.excludedEmotions = excludedEmotions
            self.segment = segment
        }

        /// Checks what can be checked without the database: ids, purposes, segment attributes.
        func check() throws {
            if let participant { try Identifier.validate(participant, as: .participant) }
            guard purposes.contains(Consent.analysisPurpose) else {
                throw StoreError.noConsent(participant: participant ?? "(new)",
                                           reason: "the purposes must include \(Consent.analysisPurpose)")
            }
            if let segment {
                guard purposes.contains(Consent.segmentPurpose) else {
                    throw StoreError.invalidInput("segment attributes are stored only with consent to \(Consent.segmentPurpose)")
                }
                try SegmentAttributes.validate(segment)
            }
        }
    }

    /// Records consent, enrolling a new participant unless one is named.
    public func recordConsent(_ request: ConsentRequest, actor: String) async throws -> (Participant, Consent) {
        try request.check()
        return try await database.transaction { transaction in
            try await self.recordConsent(transaction, request, actor: actor)
        }
    }

    func recordConsent(_ transaction: any SQLTransaction, _ request: ConsentRequest,
                       actor: String) async throws -> (Participant, Consent) {
        let digest = Identifier.sha256Hex(request.noticeText)
        let segmentValue = SQLValue(request.segment.map(SegmentAttributes.encode))
        let study = try await loadStudy(transaction, reference: request.study)
        let now = Clock.nowMilliseconds()
        let participantID: String
        if let existing = request.participant {
            let participant = try await loadParticipant(transaction, id: existing)
            guard participant.studyID == study.id else { throw StoreError.unknownParticipant(existing) }
            participantID = existing
            try await transaction.execute("UPDATE participants SET excluded_emotions = ?, segment = ? WHERE id = ?",
                                          [.text(EmotionList.encode(request.excludedEmotions)), segmentValue, .text(existing)])
        } else {
            participantID = Identifier.make(.participant)
            try await transaction.execute(
                "INSERT INTO participants (id, study_id, excluded_emotions, segment, created_at) VALUES (?, ?, ?, ?, ?)",
                [.text(participantID), .text(study.id), .text(EmotionList.encode(request.excludedEmotions)), segmentValue,
                 .integer(now)])
        }
        let consentID = Identifier.make(.consent)
        try await transaction.execute(
            """
            INSERT INTO consents (id, participant_id, notice_version, notice_sha256, purposes, granted_at, withdrawn_at)
            VALUES (?, ?, ?, ?, ?, ?, NULL)
            """,
            [.text(consentID), .text(participantID), .text(study.definition.noticeVersion), .text(digest),
             .text(request.purposes.joined(separator: ",")), .integer(now)])
        try await audit(transaction, actor: actor, action: "consent.grant", subject: participantID, details: [
            "study": study.id, "consent": consentID, "notice_version": study.definition.noticeVersion,
            "notice_sha256": digest, "purposes": request.purposes.joined(separator: ","),
            "excluded": EmotionList.encode(request.excludedEmotions),
        ])
        let participant = try await loadParticipant(transaction, id: participantID)
        let consent = try Consent(row: try await transaction.query("SELECT * FROM consents WHERE id = ?", [.text(consentID)])[0])
        return (participant, consent)
    }

    /// What a withdrawal removed.
    public struct Withdrawal: Sendable, Codable, Hashable {
        public var participant: String
        public var sessionsDeleted: Int
        public var rowsDeleted: Int
        /// Windows this participant's means were added to in the study's anonymous sums (`keep-aggregates`).
        public var windowsKeptAnonymously: Int
    }

    /// Withdraws every consent of a participant, ends their running sessions and deletes their derived data.
    /// The consent record stays, marked withdrawn: it is what refuses any further processing.
    public func withdrawConsent(participant id: String, actor: String) async throws -> Withdrawal {
        try Identifier.validate(id, as: .participant)
        let withdrawal = try await database.transaction { transaction in
            let participant = try await self.loadParticipant(transaction, id: id)
            let study = try await self.loadStudy(transaction, reference: participant.studyID)
            let now = Clock.nowMilliseconds()
            try await transaction.execute("UPDATE consents SET withdrawn_at = ? WHERE participant_id = ? AND withdrawn_at IS NULL",
                                          [.integer(now), .text(id)])
            var windowsKept = 0
            if study.definition.onWithdrawal == .keepAggregates {
                windowsKept = try await self.foldIntoStudyAggregates(transaction, participant: participant, study: study)
            }
            let (sessions, rows) = try await self.deleteDerivedData(transaction, participant: id)
            try await self.audit(transaction, actor: actor, action: "consent.withdraw", subject: id, details: [
                "sessions_deleted": String(sessions), "rows_deleted": String(rows),
                "windows_kept_anonymously": String(windowsKept),
            ])
            return Withdrawal(participant: id, sessionsDeleted: sessions, rowsDeleted: rows, windowsKeptAnonymously: windowsKept)
        }
        try await database.compact()
        return withdrawal
    }

    /// Why a participant may not be processed now, or nil when they may.
    func consentProblem(_ transaction: any SQLTransaction, participant: Participant, study: Study) async throws -> String? {
        try await currentConsent(transaction, participant: participant, study: study).problem
    }

    /// The participant's latest consent, and why they may not be processed now (nil when they may).
    func currentConsent(_ transaction: any SQLTransaction, participant: Participant,
                        study: Study) async throws -> (latest: Consent?, problem: String?) {
        let consents = try await transaction.query("SELECT * FROM consents WHERE participant_id = ? ORDER BY granted_at DESC",
                                                   [.text(participant.id)]).map(Consent.init(row:))
        guard let latest = consents.first else { return (nil, "none recorded") }
        if latest.withdrawnAt != nil || consents.contains(where: { $0.withdrawnAt != nil }) { return (latest, "withdrawn") }
        if latest.noticeVersion != study.definition.noticeVersion {
            return (latest, "given for notice version \(latest.noticeVersion), the study now shows \(study.definition.noticeVersion)")
        }
        if !latest.purposes.contains(Consent.analysisPurpose) { return (latest, "does not cover \(Consent.analysisPurpose)") }
        return (latest, nil)
    }

    func loadParticipant(_ transaction: any SQLTransaction, id: String) async throws -> Participant {
        guard let row = try await transaction.query("SELECT * FROM participants WHERE id = ?", [.text(id)]).first else {
            throw StoreError.unknownParticipant(id)
        }
        return try Participant(row: row)
    }

    /// Deletes a participant's sessions and every result row in them, and their batch jobs (a job
    /// names the participant's video); returns (sessions, result rows).
    func deleteDerivedData(_ transaction: any SQLTransaction, participant id: String) async throws -> (Int, Int) {
        let sessions = try await transaction.query("SELECT id FROM sessions WHERE participant_id = ?", [.text(id)])
            .compactMap { $0["id"].string }
        var rows = 0
        for session in sessions { rows += try await deleteSession(transaction, id: session) }
        try await transaction.execute("DELETE FROM jobs WHERE participant_id = ?", [.text(id)])
        return (sessions.count, rows)
    }

    /// Deletes one session and its rows; returns the number of result rows deleted.
    func deleteSession(_ transaction: any SQLTransaction, id: String) async throws -> Int {
        let rows = try await rowCounts(transaction, session: id).values.reduce(0, +)
        for table in Schema.resultTables {
            try await transaction.execute("DELETE FROM \(table) WHERE session_id = ?", [.text(id)])
        }
        try await transaction.execute("DELETE FROM sessions WHERE id = ?", [.text(id)])
        // Off every node's dashboard, and the node running its capture stops it, once this commits.
        try await transaction.execute("DELETE FROM live_status WHERE session_id = ?", [.text(id)])
        // A batch job's row names its video: it goes with the session it filled (retention, withdrawal).
        try await transaction.execute("DELETE FROM jobs WHERE session_id = ?", [.text(id)])
        try await transaction.notify(ClusterMessage.channel, ClusterMessage.stop(session: id).payload)
        return rows
    }
}
