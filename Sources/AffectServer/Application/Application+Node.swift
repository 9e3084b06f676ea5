import AffectStore
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs a built application as a node of the cluster until SIGTERM or SIGINT.
///
/// The node's ``ClusterService`` runs beside the application, after it in one service group, so
/// that on a signal it is stopped first: the node drains (readiness fails, each page is told to
/// resume elsewhere once what it sent is written) while the HTTP server still carries those last
/// messages, and only then does the server stop.
public func runNode(_ app: some ApplicationProtocol, store: PrivacyStore, capture: CaptureService,
                    logger: Logger) async throws {
    let cluster = ClusterService(store: store, capture: capture, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [app, cluster], gracefulShutdownSignals: [.sigterm, .sigint],
                                                  logger: logger))
    try await group.run()
}
