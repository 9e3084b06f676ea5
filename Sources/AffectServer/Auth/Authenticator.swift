import AffectStore
import Hummingbird

/// Finds out who is calling, for the console and the API alike: an `Authorization: Bearer` API token,
/// or the console's session cookie. It refuses nothing by itself but a bad token and a change made
/// with the cookie but without the CSRF token; each route then asks
/// ``AffectRequestContext/authorize(_:study:store:)`` for what it needs.
struct Authenticator: RouterMiddleware {
    typealias Context = AffectRequestContext
    let store: PrivacyStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var request = request
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "),
                  let token = try await store.authenticate(secret: String(header.dropFirst("Bearer ".count))) else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "unknown or revoked API token")
            }
            context.principal = Principal(id: token.id, name: token.name, role: token.role, credential: .apiToken,
                                          studies: token.role == .admin ? [] : try await store.studyIDs(grantedTo: token.id))
        } else if let secret = SessionCookie.secret(in: request), let user = try await store.webSessionUser(secret: secret) {
            let principal = Principal(id: user.id, name: user.name, role: user.role, credential: .webSession(secret: secret),
                                      studies: user.role == .admin ? [] : try await store.studyIDs(grantedTo: user.id))
            if !request.method.isSafe, let expected = principal.csrfToken {
                try await CSRF.check(&request, expected: expected)
            }
            context.principal = principal
        } else if !request.method.isSafe {
            // Sign-in and setup forms are posted without a session: only from this site's own pages.
            try CSRF.checkOrigin(request)
        }
        return try await next(request, context)
    }
}

extension HTTPRequest.Method {
    /// Methods that change nothing (HTTP semantics, and the server's own rule: GET never changes state).
    var isSafe: Bool { self == .get || self == .head || self == .options }
}

extension AffectRequestContext {
    /// The caller, if signed in or holding a token; throws 401 otherwise.
    func authenticated() throws -> Principal {
        guard let principal else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "sign in, or send an API token (Authorization: Bearer ...)")
        }
        return principal
    }

    /// The person signed in with the console's cookie (and the cookie's secret); an API token has no
    /// account: 403.
    func person() throws -> (Principal, session: String) {
        let principal = try authenticated()
        guard case .webSession(let secret) = principal.credential else {
            throw HTTPError(.forbidden, message: "an API token has no account or password")
        }
        return (principal, secret)
    }

    /// Throws 401 for an anonymous caller and 403 unless its role has one of `permissions`.
    @discardableResult
    func authorize(_ permissions: Permission...) throws -> Principal {
        try authorize(permissions)
    }

    private func authorize(_ permissions: [Permission]) throws -> Principal {
        let principal = try authenticated()
        guard permissions.contains(where: principal.may) else {
            throw HTTPError(.forbidden, message: "your role (\(principal.role.rawValue)) may not do this")
        }
        return principal
    }

    /// As ``authorize(_:)-(Permission...)``, in one study (by id or name): a study the caller was not given
    /// is answered as unknown (404), so its existence is not told either.
    func authorize(_ permissions: Permission..., study reference: String,
                   store: PrivacyStore) async throws -> (Principal, Study) {
        let principal = try authorize(permissions)
        let study: Study
        do {
            study = try await store.study(reference)
        } catch StoreError.unknownStudy {
            throw HTTPError(.notFound, message: "no such study")
        }
        guard principal.reaches(study: study.id) else { throw HTTPError(.notFound, message: "no such study") }
        return (principal, study)
    }
}
