import AffectStore
import Hummingbird

/// Turns store errors into HTTP errors with the same one-line messages the CLI prints.
struct StoreErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            throw HTTPError(Self.status(for: error), message: error.description)
        }
    }

    static func status(for error: StoreError) -> HTTPResponse.Status {
        switch error {
        case .unknownStudy, .unknownParticipant, .unknownSession, .unknownStimulus: .notFound
        case .malformedIdentifier, .invalidLocation: .badRequest
        case .invalidStudy, .modeForbids, .constraint: .unprocessableContent
        case .duplicateStudyName, .duplicateStimulus, .sessionClosed: .conflict
        case .noConsent, .privacyBudgetSpent: .forbidden
        case .invitationUnusable: .gone
        case .corruptRow, .schemaTooNew: .internalServerError
        case .backend: .serviceUnavailable
        }
    }
}
