import Hummingbird
import Logging

/// Errors on console pages, in plain words on a page rather than as JSON: an anonymous visitor is sent
/// to sign in (and back afterwards); any other refusal shows its fixed message with a way back.
struct ConsoleErrors: RouterMiddleware {
    typealias Context = AffectRequestContext
    let templates: ConsoleTemplates

    struct ErrorPage {
        var status: Int
        var message: String
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .unauthorized {
                if request.method == .get {
                    let next = request.uri.path.isEmpty || request.uri.path == "/" ? "" : "?next=\(Self.encode(request.uri.path))"
                    return ConsoleTemplates.redirect(to: "/sign-in" + next)
                }
                return try templates.page("error", title: "Signed out", context: context, status: .unauthorized,
                                          data: ErrorPage(status: 401, message: "You are signed out. Sign in again, then repeat what you did."))
            }
            return try templates.page("error", title: "Not possible", context: context, status: error.status,
                                      data: ErrorPage(status: error.status.code, message: error.body ?? error.status.reasonPhrase))
        }
    }

    /// A console path for `?next=`: only a path on this server (never `//elsewhere`), percent-encoded.
    static func encode(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_"))) ?? ""
    }

    /// Where to go after signing in: a path on this server only.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\") else { return "/studies" }
        return next
    }
}

import Foundation
