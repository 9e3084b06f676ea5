import AffectCore
import AffectStore
import Hummingbird
import Logging

/// The one place errors become HTTP answers.
///
/// A refusal (a rule the caller broke) is a 4xx with a fixed message. Anything else (the database
/// failing, a corrupt row, a bug) is logged here with the request id, and the client gets a generic
/// message and that id: backend text, paths, addresses and SQL never reach a client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AffectRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status.code >= 500 { logger.error("\(request.method) \(request.uri.path): \(error)", metadata: Self.metadata(context)) }
            throw error
        } catch let error as StoreError {
            switch Self.answer(for: error) {
            case .refusal(let status, let message):
                throw HTTPError(status, message: message)
            case .failure(let status):
                throw failure(status, error, request: request, context: context)
            }
        } catch let error as InputRules.Violation {
            throw HTTPError(.unprocessableContent, message: error.description)
        } catch let error as StimulusSource.Refusal {
            throw HTTPError(.unprocessableContent, message: error.description)
        } catch {
            throw failure(.internalServerError, error, request: request, context: context)
        }
    }

    private func failure(_ status: HTTPResponse.Status, _ error: any Error, request: Request, context: Context) -> HTTPError {
        logger.error("\(request.method) \(request.uri.path) failed: \(error)", metadata: Self.metadata(context))
        return HTTPError(status, message: Self.failureMessage(status: status, requestID: context.id))
    }

    /// What a log line says of the request: its id (the client is told it) and the client's address.
    static func metadata(_ context: Context) -> Logger.Metadata {
        ["request": "\(context.id)", "client": "\(context.client.address)"]
    }

    static func failureMessage(status: HTTPResponse.Status, requestID: String) -> String {
        status == .serviceUnavailable
            ? "the database did not answer; try again (request id \(requestID))"
            : "the server could not complete this request (request id \(requestID))"
    }

    enum Answer: Equatable {
        /// The caller's mistake: this status and a fixed message.
        case refusal(HTTPResponse.Status, String)
        /// The server's: logged, answered generically.
        case failure(HTTPResponse.Status)
    }

    /// What a store error becomes. Messages name the rule, never echo what was sent: a 404 for an
    /// unknown study says so without repeating the reference.
    static func answer(for error: StoreError) -> Answer {
        switch error {
        case .unknownStudy: .refusal(.notFound, "no such study")
        case .unknownParticipant: .refusal(.notFound, "no such participant")
        case .unknownUser: .refusal(.notFound, "no such user")
        case .unknownToken: .refusal(.notFound, "no such token")
        case .unknownSession: .refusal(.notFound, "no such session")
        case .unknownStimulus: .refusal(.notFound, "no such stimulus in this study")
        case .unknownInvitation: .refusal(.notFound, error.description)
        case .malformedIdentifier(let kind, _): .refusal(.badRequest, "that is not a \(kind) id")
        case .invalidLocation: .refusal(.badRequest, "not a database location")
        case .invalidStudy(let reason), .invalidInput(let reason): .refusal(.unprocessableContent, reason)
        case .modeForbids: .refusal(.unprocessableContent, error.description)
        case .duplicateStudyName: .refusal(.conflict, "a study with this name already exists")
        case .duplicate(let message), .conflict(let message): .refusal(.conflict, message)
        case .duplicateStimulus: .refusal(.conflict, "the study already has a stimulus with this name and variant")
        case .sessionClosed: .refusal(.conflict, "this session has ended")
        case .sessionContinuedElsewhere: .refusal(.conflict, "this session continued on a newer connection")
        case .jobLost: .refusal(.conflict, "this job was taken over by another worker")
        case .noConsent: .refusal(.forbidden, "no valid consent: not processed")
        case .privacyBudgetSpent: .refusal(.forbidden, error.description)
        case .invitationUnusable: .refusal(.gone, error.description)
        // The database's own constraint text names tables and columns: it stays in the log.
        case .constraint: .failure(.conflict)
        case .corruptRow, .schemaTooNew: .failure(.internalServerError)
        case .backend: .failure(.serviceUnavailable)
        // Anyone can fill the password gate: answered in words, not logged once per request.
        case .busy(let message): .refusal(.serviceUnavailable, message)
        }
    }
}
