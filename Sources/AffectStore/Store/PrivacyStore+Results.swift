import AffectCore
import Foundation

extension PrivacyStore {
    /// One session's stored records, with whose they are, for aggregation across participants.
    public struct SessionResults: Sendable {
        public var session: Session
        public var participantID: String
        /// The participant's self-reported attributes, given with consent to that purpose.
        public var segment: [String: String]?
        public var records: [MinimisedRecord]
    }

    /// The stored records of a study's sessions, optionally only those of some stimuli and of
    /// participants whose segment attributes include every pair in `segment`. Read in one transaction,
    /// so a withdrawal either removed a participant entirely or not at all.
    public func sessionResults(study reference: String, stimuli: Set<String>? = nil,
                               segment: [String: String] = [:]) async throws -> [SessionResults] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            let sessions = try await transaction.query("SELECT * FROM sessions WHERE study_id = ? ORDER BY started_at",
                                                       [.text(study.id)]).map(Session.init(row:))
            var participants: [String: Participant] = [:]
            var results: [SessionResults] = []
            for session in sessions {
                if let stimuli, !stimuli.contains(session.stimulusID ?? "") { continue }
                let participant: Participant
                if let known = participants[session.participantID] {
                    participant = known
                } else {
                    participant = try await self.loadParticipant(transaction, id: session.participantID)
                    participants[participant.id] = participant
                }
                if !segment.isEmpty {
                    guard let attributes = participant.segment, segment.allSatisfy({ attributes[$0.key] == $0.value }) else { continue }
                }
                results.append(SessionResults(session: session, participantID: session.participantID, segment: participant.segment,
                                              records: try await self.loadRecords(transaction, session: session.id)))
            }
            return results
        }
    }
}
