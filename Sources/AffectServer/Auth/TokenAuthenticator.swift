import AffectStore
import Hummingbird

/// Requires `Authorization: Bearer <token>` on every API route and records the token in the context.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = AffectRequestContext
    let store: PrivacyStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "an API token is required (Authorization: Bearer ...)")
        }
        guard let token = try await store.authenticate(secret: String(header.dropFirst("Bearer ".count))) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "unknown or revoked API token")
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }
}

extension AffectRequestContext {
    /// Throws 403 unless the caller's token has one of `roles`.
    func require(_ roles: Role...) throws -> PrivacyStore.APIToken {
        guard let token, roles.contains(token.role) else {
            throw HTTPError(.forbidden, message: "this needs the \(roles.map(\.rawValue).joined(separator: " or ")) role")
        }
        return token
    }

    /// How the caller appears in the audit log.
    var actor: String { token.map { "api:\($0.name)" } ?? "api:anonymous" }
}
