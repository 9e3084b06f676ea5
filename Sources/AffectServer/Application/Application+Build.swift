import AffectPipeline
import AffectReport
import AffectStore
import AffectVision
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceLifecycle

/// Builds the server: routes, middleware and the store they share.
///
/// - Parameters:
///   - capture: runs participants' capture sessions; without one (no models) captures are refused.
///   - onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
public func buildApplication(configuration: ServerConfiguration, store: PrivacyStore, capture: CaptureService? = nil,
                             metrics: LiveMetrics = LiveMetrics(), logger: Logger = Logger(label: "affect.server"),
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let capture = capture ?? CaptureService(engine: nil, store: store, feed: LiveFeed(),
                                            provenance: .init(models: [:], configuration: [:]))
    if let warning = configuration.plainHTTPWarning { logger.warning("\(warning)") }
    let router = buildRouter(store: store, metrics: metrics, capture: capture, pages: .bundled(), configuration: configuration,
                             catalog: RouteCatalog(), logger: logger)
    var services: [any Service] = [SessionLeaseService(store: store, capture: capture, logger: logger)]
    if let tls = configuration.tls { services.append(CertificateReloadService(source: tls, logger: logger)) }
    return Application(
        router: router,
        server: .guarded(webSocketRouter: router, maximumFrameBytes: capture.settings.maximumFrameBytes,
                         limits: configuration.connections, tls: configuration.tls, logger: logger),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "affect"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// The routes and middleware; `catalog` records every route for the OpenAPI check.
func buildRouter(store: PrivacyStore, metrics: LiveMetrics, capture: CaptureService, pages: PageAssets,
                 configuration: ServerConfiguration = .init(), catalog: RouteCatalog,
                 logger: Logger = Logger(label: "affect.server")) -> Router<AffectRequestContext> {
    let router = Router(context: AffectRequestContext.self)
    // First: everything after it, the error answers included, knows the client and whether it used HTTPS.
    router.add(middleware: ClientMiddleware(trust: configuration.proxyTrust))
    router.add(middleware: ErrorMiddleware(logger: logger))
    router.add(middleware: MethodNotAllowedMiddleware(catalog: catalog))
    router.add(middleware: FileMiddleware(pages.staticFolder, urlBasePath: "/static", logger: logger))
    // The chart script is the report module's: the dashboard and reports draw with the same code.
    router.get("static/timeline-chart.js") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: ReportAssets.timelineChartScript)))
    }
    DeviceKernelController(kernel: capture.deviceKernel).addRoutes(to: router)
    let root = Routes(group: router.group(), prefix: "", catalog: catalog)
    HealthController(store: store, capture: capture).addRoutes(to: root)
    MetricsController(metrics: metrics).addRoutes(to: root)
    OpenAPIController().addRoutes(to: root)
    PagesController(pages: pages).addRoutes(to: root)
    let api = Routes(group: router.group("api/v1").add(middleware: Authenticator(store: store)), prefix: "api/v1",
                     catalog: catalog)
    StudiesController(store: store).addRoutes(to: api.group("studies"))
    StimuliController(store: store).addRoutes(to: api.group("studies"))
    let library = configuration.stimulusDirectory.map { StimulusLibrary(directory: $0, maximumBytes: configuration.maximumUploadBytes) }
    StimulusUploadController(store: store, library: library).addRoutes(to: api.group("studies"))
    ResultsController(store: store).addRoutes(to: api.group("studies"))
    AudienceMomentsController(store: store).addRoutes(to: api.group("studies"))
    ReleasesController(store: store).addRoutes(to: api.group("studies"))
    InvitationsController(store: store).addRoutes(to: api.group("studies"))
    StudyAccessController(store: store).addRoutes(to: api.group("studies"))
    LiveController(feed: capture.feed, store: store).addRoutes(to: api.group("live"))
    NodesController(store: store).addRoutes(to: api.group("nodes"))
    TokensController(store: store).addRoutes(to: api.group("tokens"))
    UsersController(store: store).addRoutes(to: api.group("users"))
    // The console: pages for people, signed in by cookie, under the same authorisation as the API.
    let templates: ConsoleTemplates
    do {
        templates = try ConsoleTemplates.bundled()
    } catch {
        // They ship in the binary's bundle (a test renders every one): without them the API and the
        // participant pages still work, and console pages answer 500.
        logger.error("the console's templates could not be loaded: \(error)")
        templates = ConsoleTemplates(library: .init())
    }
    let console = Routes(group: router.group().add(middleware: ConsoleErrors(templates: templates))
                            .add(middleware: ErrorMiddleware(logger: logger)).add(middleware: Authenticator(store: store)),
                         prefix: "", catalog: catalog, console: true)
    SignInController(store: store, templates: templates, secureCookies: configuration.secureCookies).addRoutes(to: console)
    StudyPagesController(store: store, templates: templates).addRoutes(to: console)
    ResultPagesController(store: store, templates: templates, library: library).addRoutes(to: console)
    AdminPagesController(store: store, templates: templates).addRoutes(to: console)
    SubjectPagesController(store: store, templates: templates).addRoutes(to: console)
    LivePageController(templates: templates).addRoutes(to: console)
    let participant = root.group("p")
    ParticipantController(store: store, deviceKernel: capture.deviceKernel).addRoutes(to: participant)
    CaptureController(store: store, capture: capture, library: library).addRoutes(to: participant)
    return router
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrade, behind the connection guards (``ConnectionLimits``).
    /// With `tls`, every connection speaks TLS first (HTTPS and WSS on the one port).
    static func guarded(webSocketRouter: Router<AffectRequestContext>, maximumFrameBytes: Int, limits: ConnectionLimits,
                        tls: TLSContextSource?, logger: Logger) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let census = ConnectionGuard.Census(limit: limits.maximumConnections)
        // Frames up to twice the configured limit reach the ingest check, which closes with a reason.
        let webSocket = WebSocketServerConfiguration(maxFrameSize: 2 * maximumFrameBytes + FrameMessage.headerBytes)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [BodyReadTimeout(timeout: limits.bodyTimeout, logger: logger)],
            idleTimeout: limits.idleTimeout,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maximumHeaderBytes, maxHeaderListSize: limits.maximumHeaderBytes))
        return HTTPServerBuilder { responder in
            GuardedChildChannel(base: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                                    configuration: .init(http1: http1, ws: webSocket)),
                                census: census, limits: limits, tls: tls, logger: logger)
        }
    }
}
