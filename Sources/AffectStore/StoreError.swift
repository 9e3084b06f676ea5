/// Why a store operation failed, worded for the person who typed the command.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownStudy(String)
    case unknownParticipant(String)
    case unknownSession(String)
    case unknownStimulus(String)
    case invitationUnusable(String)
    /// No participant link has this secret.
    case unknownInvitation
    case duplicateStimulus(name: String, variant: String)
    case malformedIdentifier(kind: String, value: String)
    case invalidStudy(String)
    case duplicateStudyName(String)
    /// No user has this name or id.
    case unknownUser(String)
    /// No API token has this id.
    case unknownToken(String)
    /// What was asked cannot be done in the present state (the last admin cannot be disabled); the message says why.
    case conflict(String)
    /// A name that must be unique (a user's, a token's) is taken; the message says which.
    case duplicate(String)
    case noConsent(participant: String, reason: String)
    case modeForbids(record: String, mode: String)
    case sessionClosed(String)
    /// A newer connection through the participant's link resumed the session; this writer is fenced off.
    case sessionContinuedElsewhere(String)
    case invalidLocation(String)
    /// A value the caller gave breaks a rule (``InputRules``); the message is fixed text.
    case invalidInput(String)
    /// The database itself refused a write (a constraint); its message stays server-side.
    case constraint(String)
    case corruptRow(column: String)
    case backend(String)
    /// This server is at a limit it keeps for itself (the password gate's queue): try again shortly.
    /// A refusal, not a failure: it says nothing about the database and is not worth a log line each.
    case busy(String)
    case schemaTooNew(found: Int, supported: Int)
    case privacyBudgetSpent(remaining: Double, asked: Double)
    /// The worker no longer holds the job (its lease ran out and another worker took it over).
    case jobLost(String)

    public var description: String {
        switch self {
        case .unknownStudy(let reference): "no study '\(reference)' (see `affect study list`)"
        case .unknownParticipant(let id): "no participant \(id)"
        case .unknownSession(let id): "no session \(id)"
        case .invitationUnusable(let reason): "this participant link \(reason)"
        case .unknownInvitation: "this participant link does not exist"
        case .unknownStimulus(let id): "no stimulus \(id) in this study (see `affect stimulus list`)"
        case .duplicateStimulus(let name, let variant): "the study already has '\(name)' variant \(variant)"
        case .malformedIdentifier(let kind, let value): "'\(value)' is not a \(kind) id"
        case .invalidStudy(let reason): reason
        case .duplicateStudyName(let name): "a study named '\(name)' already exists"
        case .unknownUser(let reference): "no user '\(reference)' (see `affect users list`)"
        case .unknownToken(let id): "no token \(id) (see `affect tokens list`)"
        case .duplicate(let message), .conflict(let message): message
        case .noConsent(let participant, let reason): "participant \(participant) has no valid consent (\(reason)): not processed"
        case .modeForbids(let record, let mode): "refused: a \(mode)-mode study stores no \(record)"
        case .sessionClosed(let id): "session \(id) has ended"
        case .sessionContinuedElsewhere(let id): "session \(id) continued on a newer connection"
        case .invalidLocation(let text): "'\(text)' is not a database location (use sqlite:PATH or postgres://USER@HOST/DB)"
        case .invalidInput(let message): message
        case .constraint(let message): "refused by the database: \(message)"
        case .corruptRow(let column): "stored data is corrupt (column \(column))"
        case .backend(let message), .busy(let message): message
        case .jobLost(let id): "job \(id) was taken over by another worker"
        case .privacyBudgetSpent(let remaining, let asked):
            String(format: "refused: this release needs ε = %g but only %g of the study's privacy budget is left", asked, remaining)
        case .schemaTooNew(let found, let supported):
            "database schema version \(found) is newer than this affect supports (\(supported)): upgrade affect"
        }
    }
}
