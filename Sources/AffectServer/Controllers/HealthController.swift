import AffectStore
import Hummingbird

/// Liveness and readiness for process supervisors and load balancers.
struct HealthController {
    let store: PrivacyStore
    let capture: CaptureService

    func addRoutes(to routes: Routes) {
        // Alive: the process answers.
        routes.get("healthz") { _, _ in "ok\n" }
        // Ready for new sessions: the database answers, the node is not draining, and its analysis is
        // not at the load ladder's top step. A balancer that sees 503 sends new sessions elsewhere;
        // the sessions already here go on.
        routes.get("readyz") { _, _ -> String in
            if let reason = capture.notReadyBecause { throw HTTPError(.serviceUnavailable, message: reason) }
            do {
                _ = try await store.studies()
                return "ready\n"
            } catch {
                throw HTTPError(.serviceUnavailable, message: "database unavailable")
            }
        }
    }
}
