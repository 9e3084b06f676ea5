import AffectPipeline
import AffectStore
import Hummingbird
import Logging

/// Builds the server: routes, middleware and the store they share.
///
/// - Parameters:
///   - onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
public func buildApplication(configuration: ServerConfiguration, store: PrivacyStore, metrics: LiveMetrics = LiveMetrics(),
                             logger: Logger = Logger(label: "affect.server"),
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = buildRouter(store: store, metrics: metrics, catalog: RouteCatalog())
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "affect"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// The routes and middleware; `catalog` records every route for the OpenAPI check.
func buildRouter(store: PrivacyStore, metrics: LiveMetrics, catalog: RouteCatalog) -> Router<AffectRequestContext> {
    let router = Router(context: AffectRequestContext.self)
    router.add(middleware: StoreErrorMiddleware())
    let root = Routes(group: router.group(), prefix: "", catalog: catalog)
    HealthController(store: store).addRoutes(to: root)
    MetricsController(metrics: metrics).addRoutes(to: root)
    OpenAPIController().addRoutes(to: root)
    let api = Routes(group: router.group("api/v1").add(middleware: TokenAuthenticator(store: store)), prefix: "api/v1",
                     catalog: catalog)
    StudiesController(store: store).addRoutes(to: api.group("studies"))
    InvitationsController(store: store).addRoutes(to: api.group("studies"))
    ParticipantController(store: store).addRoutes(to: root.group("p"))
    return router
}
