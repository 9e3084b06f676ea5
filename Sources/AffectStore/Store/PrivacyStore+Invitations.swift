import AffectCore
import Foundation

extension PrivacyStore {
    /// A participant link as stored: never its secret.
    public struct Invitation: Sendable, Hashable, Codable {
        public var id: String
        public var studyID: String
        public var stimulusID: String?
        public var expiresAt: Int64
        public var usedAt: Int64?
        public var participantID: String?

        init(row: SQLRow) throws {
            id = try row.text("id")
            studyID = try row.text("study_id")
            stimulusID = row["stimulus_id"].string
            expiresAt = try row.integer("expires_at")
            usedAt = row["used_at"].int64
            participantID = row["participant_id"].string
        }
    }

    /// Creates a single-use participant link valid for `hours`; returns it with its secret (shown once).
    public func createInvitation(study reference: String, stimulus: String? = nil, hours: Double = 72,
                                 actor: String) async throws -> (Invitation, secret: String) {
        guard hours > 0, hours <= 24 * 90 else { throw StoreError.constraint("an invitation lasts 1 minute to 90 days") }
        if let stimulus { try Identifier.validate(stimulus, as: .stimulus) }
        let secret = Identifier.randomHex(words: 3)
        let id = Identifier.make(.invitation)
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            if let stimulus, try await transaction.query("SELECT id FROM stimuli WHERE id = ? AND study_id = ?",
                                                         [.text(stimulus), .text(study.id)]).isEmpty {
                throw StoreError.unknownStimulus(stimulus)
            }
            let now = Clock.nowMilliseconds()
            try await transaction.execute(
                """
                INSERT INTO invitations (id, study_id, stimulus_id, secret_sha256, created_at, expires_at, used_at, participant_id)
                VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
                """,
                [.text(id), .text(study.id), SQLValue(stimulus), .text(Self.digest(secret)), .integer(now),
                 .integer(now + Int64(hours * 3_600_000))])
            try await self.audit(transaction, actor: actor, action: "invitation.create", subject: id,
                                 details: ["study": study.id, "stimulus": stimulus ?? "", "hours": String(hours)])
            let row = try await transaction.query("SELECT * FROM invitations WHERE id = ?", [.text(id)])
            return (try Invitation(row: row[0]), secret)
        }
    }

    /// The invitation a link's secret opens, if it is still usable; throws ``StoreError/invitationUnusable(_:)`` otherwise.
    public func openInvitation(secret: String) async throws -> (Invitation, Study) {
        try await database.transaction { transaction in
            let (invitation, study) = try await self.usableInvitation(transaction, secret: secret)
            return (invitation, study)
        }
    }

    /// Records the consent given through a link and uses the link up, in one transaction.
    /// The notice on record is the one generated from the study (``TransparencyNotice``), which is what the
    /// link's briefing shows.
    public func consent(throughInvitation secret: String, purposes: [String], excludedEmotions: Set<Emotion>,
                        segment: [String: String]?) async throws -> (Participant, Consent, Invitation) {
        let request = ConsentRequest(study: "", noticeText: "", purposes: purposes, excludedEmotions: excludedEmotions,
                                     segment: segment)
        try request.check()
        return try await database.transaction { transaction in
            // One transaction: a link used by a concurrent request cannot record a second consent.
            let (invitation, study) = try await self.usableInvitation(transaction, secret: secret)
            var bound = request
            bound.study = study.id
            bound.noticeText = TransparencyNotice.text(for: study.definition)
            let (participant, consent) = try await self.recordConsent(transaction, bound, actor: "participant:\(invitation.id)")
            try await transaction.execute("UPDATE invitations SET used_at = ?, participant_id = ? WHERE id = ?",
                                          [.integer(Clock.nowMilliseconds()), .text(participant.id), .text(invitation.id)])
            let used = try Invitation(row: try await transaction.query("SELECT * FROM invitations WHERE id = ?", [.text(invitation.id)])[0])
            return (participant, consent, used)
        }
    }

    private func usableInvitation(_ transaction: any SQLTransaction, secret: String) async throws -> (Invitation, Study) {
        guard secret.count == 48, secret.allSatisfy(\.isHexDigit),
              let row = try await transaction.query("SELECT * FROM invitations WHERE secret_sha256 = ?",
                                                    [.text(Self.digest(secret))]).first else {
            throw StoreError.invitationUnusable("does not exist")
        }
        let invitation = try Invitation(row: row)
        if invitation.usedAt != nil { throw StoreError.invitationUnusable("has already been used") }
        if invitation.expiresAt <= Clock.nowMilliseconds() { throw StoreError.invitationUnusable("has expired") }
        return (invitation, try await loadStudy(transaction, reference: invitation.studyID))
    }
}
