import Hummingbird

/// Works out each request's ``RequestClient`` (``ProxyTrust``) before anything else sees the
/// request, and tells browsers that reached the server over HTTPS to keep using it (HSTS).
struct ClientMiddleware: RouterMiddleware {
    typealias Context = AffectRequestContext
    let trust: ProxyTrust

    /// A year, the usual figure; no `includeSubDomains`: other hosts of the domain are not the server's to rule.
    static let strictTransportSecurity = "max-age=31536000"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.client = trust.client(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        guard context.client.isSecure else { return try await next(request, context) }
        do {
            var response = try await next(request, context)
            response.headers[.strictTransportSecurity] = Self.strictTransportSecurity
            return response
        } catch let error as HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.strictTransportSecurity] = Self.strictTransportSecurity
            return response
        }
    }
}
