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
    let router = Router(context: AffectRequestContext.self)
    router.add(middleware: StoreErrorMiddleware())
    HealthController(store: store).addRoutes(to: router)
    MetricsController(metrics: metrics).addRoutes(to: router)
    let api = router.group("api/v1").add(middleware: TokenAuthenticator(store: store))
    StudiesController(store: store).addRoutes(to: api.group("studies"))
    InvitationsController(store: store).addRoutes(to: api.group("studies"))
    ParticipantController(store: store).addRoutes(to: router.group("p"))
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "affect"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
