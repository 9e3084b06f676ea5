import AffectStore
import ArgumentParser

extension CommandFailure {
    static func exitCode(for error: StoreError) -> Int32 {
        switch error {
        case .unknownStudy, .unknownUser, .unknownToken, .unknownParticipant, .unknownSession, .unknownStimulus, .unknownInvitation: 66
        case .malformedIdentifier, .invalidStudy, .duplicateStudyName, .duplicate, .conflict, .duplicateStimulus, .modeForbids, .sessionClosed, .sessionContinuedElsewhere, .jobLost, .constraint, .invalidInput,
             .corruptRow, .schemaTooNew, .invitationUnusable: 65
        case .noConsent, .privacyBudgetSpent: 77
        case .invalidLocation: 64
        case .backend, .busy: 69
        }
    }

    /// The async form of ``reporting(_:)``, for commands that use the store.
    static func reportingAsync<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            return try reporting { throw error }
        }
    }
}
