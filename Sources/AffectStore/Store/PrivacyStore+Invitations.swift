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
        /// The capture session started through the link, once there is one.
        public var sessionID: String?

        init(row: SQLRow) throws {
            id = try row.text("id")
            studyID = try row.text("study_id")
            stimulusID = row["stimulus_id"].string
            expiresAt = try row.integer("expires_at")
            usedAt = row["used_at"].int64
            participantID = row["participant_id"].string
            sessionID = row["session_id"].string
        }
    }

    /// Creates a single-use participant link valid for `hours`; returns it with its secret (shown once).
    public func createInvitation(study reference: String, stimulus: String? = nil, hours: Double = 72,
                                 actor: String) async throws -> (Invitation, secret: String) {
        do {
            try InputRules.hours(hours)
        } catch {
            throw StoreError.invalidInput(error.description)
        }
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
            // The link's row is locked before it is checked, so a concurrent consent through the same
            // link waits, then finds it used: one link, one participant, on either backend.
            let (invitation, study) = try await self.usableInvitation(transaction, secret: secret, locking: true)
            var bound = request
            bound.study = study.id
            bound.noticeText = TransparencyNotice.text(for: study.definition)
            let (participant, consent) = try await self.recordConsent(transaction, bound, actor: "participant:\(invitation.id)")
            let claimed = try await transaction.query(
                "UPDATE invitations SET used_at = ?, participant_id = ? WHERE id = ? AND used_at IS NULL RETURNING id",
                [.integer(Clock.nowMilliseconds()), .text(participant.id), .text(invitation.id)])
            guard !claimed.isEmpty else { throw StoreError.invitationUnusable("has already been used") }
            let used = try Invitation(row: try await transaction.query("SELECT * FROM invitations WHERE id = ?", [.text(invitation.id)])[0])
            return (participant, consent, used)
        }
    }

    /// What a link opens after its consent: the participant's one capture session, until the link
    /// expires or the participant withdraws.
    public struct ParticipantLink: Sendable, Hashable {
        public var invitation: Invitation
        public var study: Study
        public var participant: Participant
        public var stimulus: Stimulus?
        /// What the participant's current consent covers.
        public var consentPurposes: [String]

        /// Where this participant's pictures are analysed: as the study says, except in a study
        /// analysed on the device whose participant agreed to server analysis instead (its fallback).
        public var analysis: AnalysisLocation {
            study.definition.analysis == .device && consentPurposes.contains(Consent.serverAnalysisPurpose)
                ? .server : study.definition.analysis
        }
    }

    /// The consented link a secret opens; throws ``StoreError/invitationUnusable(_:)`` or
    /// ``StoreError/noConsent(participant:reason:)`` when it no longer opens anything.
    public func participantLink(secret: String) async throws -> ParticipantLink {
        try await database.transaction { transaction in try await self.consentedLink(transaction, secret: secret) }
    }

    /// Withdraws the consent given through a link: the participant's data goes as the study's policy says.
    public func withdrawConsent(throughInvitation secret: String) async throws -> (Withdrawal, ParticipantLink) {
        let link = try await participantLink(secret: secret)
        let withdrawal = try await withdrawConsent(participant: link.participant.id, actor: "participant:\(link.invitation.id)")
        return (withdrawal, link)
    }

    func consentedLink(_ transaction: any SQLTransaction, secret: String,
                               locking: Bool = false) async throws -> ParticipantLink {
        let invitation = try await invitation(transaction, secret: secret, locking: locking)
        guard let participantID = invitation.participantID, invitation.usedAt != nil else {
            throw StoreError.invitationUnusable("has no consent yet")
        }
        if invitation.expiresAt <= Clock.nowMilliseconds() { throw StoreError.invitationUnusable("has expired") }
        let study = try await loadStudy(transaction, reference: invitation.studyID)
        let participant = try await loadParticipant(transaction, id: participantID)
        let consent = try await currentConsent(transaction, participant: participant, study: study)
        if let problem = consent.problem {
            throw StoreError.noConsent(participant: participant.id, reason: problem)
        }
        var stimulus: Stimulus?
        if let stimulusID = invitation.stimulusID,
           let row = try await transaction.query("SELECT * FROM stimuli WHERE id = ?", [.text(stimulusID)]).first {
            stimulus = try Stimulus(row: row)
        }
        return ParticipantLink(invitation: invitation, study: study, participant: participant, stimulus: stimulus,
                               consentPurposes: consent.latest?.purposes ?? [])
    }

    /// The invitation a secret opens; `locking` holds its row until the transaction ends (see
    /// ``SQLTransaction/forUpdate``), for callers that change it on the strength of what they read.
    private func invitation(_ transaction: any SQLTransaction, secret: String, locking: Bool = false) async throws -> Invitation {
        guard secret.count == 48, secret.allSatisfy(\.isHexDigit),
              let row = try await transaction.query("SELECT * FROM invitations WHERE secret_sha256 = ?" + (locking ? transaction.forUpdate : ""),
                                                    [.text(Self.digest(secret))]).first else {
            throw StoreError.unknownInvitation
        }
        return try Invitation(row: row)
    }

    private func usableInvitation(_ transaction: any SQLTransaction, secret: String,
                                  locking: Bool = false) async throws -> (Invitation, Study) {
        let invitation = try await invitation(transaction, secret: secret, locking: locking)
        if invitation.usedAt != nil { throw StoreError.invitationUnusable("has already been used") }
        if invitation.expiresAt <= Clock.nowMilliseconds() { throw StoreError.invitationUnusable("has expired") }
        return (invitation, try await loadStudy(transaction, reference: invitation.studyID))
    }
}

extension PrivacyStore {
    /// Where a participant link stands, for the researcher's list of links.
    public enum LinkState: String, Sendable, Codable {
        case unused, consented, running, completed, interrupted, withdrawn, expired, revoked
    }

    /// A participant link with its state (never its secret, which was shown once).
    public struct LinkStatus: Sendable, Codable {
        public var invitation: Invitation
        public var state: LinkState
        public var createdAt: Int64
    }

    /// The most links one list returns (the newest).
    public static let maximumListedLinks = 2000

    /// A study's participant links, newest first, each with its state.
    public func linkStatuses(study reference: String) async throws -> [LinkStatus] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let rows = try await transaction.query(
                """
                SELECT i.*, s.status AS session_status,
                       (SELECT MAX(c.withdrawn_at) FROM consents c WHERE c.participant_id = i.participant_id) AS withdrawn
                FROM invitations i LEFT JOIN sessions s ON s.id = i.session_id
                WHERE i.study_id = ? ORDER BY i.created_at DESC, i.id LIMIT \(Self.maximumListedLinks)
                """, [.text(study.id)])
            let now = Clock.nowMilliseconds()
            return try rows.map { row in
                let invitation = try Invitation(row: row)
                let state: LinkState
                if row["revoked_at"].int64 != nil && invitation.usedAt == nil {
                    state = .revoked
                } else if row["withdrawn"].int64 != nil {
                    state = .withdrawn
                } else if let status = row["session_status"].string {
                    state = LinkState(rawValue: status) ?? .running
                } else if invitation.usedAt != nil {
                    // A withdrawal that deleted the participant leaves the link used with nothing behind it.
                    state = invitation.participantID == nil ? .withdrawn : .consented
                } else {
                    state = invitation.expiresAt <= now ? .expired : .unused
                }
                return LinkStatus(invitation: invitation, state: state, createdAt: try row.integer("created_at"))
            }
        }
    }

    /// Revokes a participant link that nobody has used: it stops working at once (its expiry becomes
    /// now). A used link is not revoked: its participant withdraws, or is deleted through subject rights.
    public func revokeInvitation(study reference: String, invitation id: String, actor: String) async throws {
        try Identifier.validate(id, as: .invitation)
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let now = Clock.nowMilliseconds()
            let rows = try await transaction.query("SELECT used_at FROM invitations WHERE id = ? AND study_id = ?" + transaction.forUpdate,
                                                   [.text(id), .text(study.id)])
            guard let row = rows.first else { throw StoreError.unknownInvitation }
            guard row["used_at"].int64 == nil else {
                throw StoreError.invalidInput("this link has been used; its participant can withdraw, or be deleted under subject rights")
            }
            try await transaction.execute(
                "UPDATE invitations SET revoked_at = ?, expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END WHERE id = ?",
                [.integer(now), .integer(now), .integer(now), .text(id)])
            try await self.audit(transaction, actor: actor, action: "invitation.revoke", subject: id, details: ["study": study.id])
        }
    }
}
