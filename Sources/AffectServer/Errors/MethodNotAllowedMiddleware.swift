import Hummingbird

/// Answers 405 with an `Allow` header when a path exists but not for the request's method
/// (`DELETE /api/v1/studies`), where the router alone would say 404 as if the path did not exist.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let catalog: RouteCatalog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        let methods = catalog.methods(matching: segments)
        let method = request.method == .head ? "GET" : request.method.rawValue
        guard !methods.isEmpty, !methods.contains(method) else { return try await next(request, context) }
        let allowed = methods.sorted().joined(separator: ", ")
        throw HTTPError(.methodNotAllowed, headers: [.allow: allowed], message: "this address takes \(allowed)")
    }
}

extension RouteCatalog {
    /// The methods of the routes whose path template (`/api/v1/studies/{study}`) matches `segments`.
    func methods(matching segments: [Substring]) -> Set<String> {
        Set(routes.filter { route in
            let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return template.count == segments.count
                && zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method))
    }
}
