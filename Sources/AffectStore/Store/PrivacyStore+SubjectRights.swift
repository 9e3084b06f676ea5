import AffectCore

extension PrivacyStore {
    /// Everything held about one participant (GDPR Art. 15 and 20).
    public struct SubjectExport: Sendable, Codable {
        public var participant: Participant
        public var study: Study
        public var consents: [Consent]
        public var sessions: [SessionExport]
    }

    public struct SessionExport: Sendable, Codable {
        public var session: Session
        public var provenance: Provenance?
        public var faceResults: [FaceRow]
        public var facelessFrames: [FacelessFrameRow]
        public var groupFrames: [GroupFrameRow]
        public var windowAggregates: [WindowAggregateRow]
        public var moments: [Moment]
    }

    /// Exports everything about a participant; the export is audited.
    public func exportSubject(participant id: String, actor: String) async throws -> SubjectExport {
        try Identifier.validate(id, as: .participant)
        let export = try await database.transaction { transaction in
            let participant = try await self.loadParticipant(transaction, id: id)
            let study = try await self.loadStudy(transaction, reference: participant.studyID)
            let consents = try await transaction.query("SELECT * FROM consents WHERE participant_id = ? ORDER BY granted_at",
                                                       [.text(id)]).map(Consent.init(row:))
            var sessions: [SessionExport] = []
            for row in try await transaction.query("SELECT * FROM sessions WHERE participant_id = ? ORDER BY started_at", [.text(id)]) {
                let session = try Session(row: row)
                let records = try await self.loadRecords(transaction, session: session.id)
                sessions.append(SessionExport(
                    session: session, provenance: nil,
                    faceResults: records.compactMap { if case .face(let row) = $0 { row } else { nil } },
                    facelessFrames: records.compactMap { if case .noFace(let row) = $0 { row } else { nil } },
                    groupFrames: records.compactMap { if case .group(let row) = $0 { row } else { nil } },
                    windowAggregates: records.compactMap { if case .window(let row) = $0 { row } else { nil } },
                    moments: records.compactMap { if case .moment(let moment) = $0 { moment } else { nil } }))
            }
            try await self.audit(transaction, actor: actor, action: "subject.export", subject: id,
                                 details: ["sessions": String(sessions.count)])
            return SubjectExport(participant: participant, study: study, consents: consents, sessions: sessions)
        }
        var complete = export
        for index in complete.sessions.indices {
            complete.sessions[index].provenance = try await provenance(id: complete.sessions[index].session.provenanceID)
        }
        return complete
    }

    /// What a subject deletion removed.
    public struct SubjectDeletion: Sendable, Codable, Hashable {
        public var participant: String
        public var sessionsDeleted: Int
        public var rowsDeleted: Int
        public var consentsDeleted: Int
    }

    /// Deletes everything held about a participant (GDPR Art. 17), consent records included;
    /// only the audit events naming the pseudonymous id remain, as evidence the deletion happened.
    public func deleteSubject(participant id: String, actor: String) async throws -> SubjectDeletion {
        try Identifier.validate(id, as: .participant)
        let deletion = try await database.transaction { transaction in
            _ = try await self.loadParticipant(transaction, id: id)
            let (sessions, rows) = try await self.deleteDerivedData(transaction, participant: id)
            let consents = try await transaction.query("SELECT COUNT(*) AS n FROM consents WHERE participant_id = ?", [.text(id)])
                .first?["n"].int ?? 0
            try await transaction.execute("DELETE FROM consents WHERE participant_id = ?", [.text(id)])
            try await transaction.execute("DELETE FROM participants WHERE id = ?", [.text(id)])
            try await self.audit(transaction, actor: actor, action: "subject.delete", subject: id, details: [
                "sessions_deleted": String(sessions), "rows_deleted": String(rows), "consents_deleted": String(consents),
            ])
            return SubjectDeletion(participant: id, sessionsDeleted: sessions, rowsDeleted: rows, consentsDeleted: consents)
        }
        try await database.compact()
        return deletion
    }
}

extension PrivacyStore {
    /// What is held about a participant, counted, without their results: for finding them before an
    /// export or a deletion (reading it is not an export, so nothing is audited).
    public struct SubjectSummary: Sendable {
        public var participant: Participant
        public var study: Study
        public var sessions: Int
        public var consents: [Consent]
    }

    public func subjectSummary(participant id: String) async throws -> SubjectSummary {
        try Identifier.validate(id, as: .participant)
        return try await database.transaction { transaction in
            let participant = try await self.loadParticipant(transaction, id: id)
            let study = try await self.loadStudy(transaction, reference: participant.studyID)
            let consents = try await transaction.query("SELECT * FROM consents WHERE participant_id = ? ORDER BY granted_at",
                                                       [.text(id)]).map(Consent.init(row:))
            let sessions = try await transaction.query("SELECT COUNT(*) AS n FROM sessions WHERE participant_id = ?", [.text(id)])
            return SubjectSummary(participant: participant, study: study, sessions: Int(sessions.first?["n"].int64 ?? 0), consents: consents)
        }
    }
}
