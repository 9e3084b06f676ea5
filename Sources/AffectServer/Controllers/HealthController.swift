import AffectStore
import Hummingbird

/// Liveness and readiness for process supervisors and load balancers.
struct HealthController {
    let store: PrivacyStore

    func addRoutes(to routes: Routes) {
        // Alive: the process answers.
        routes.get("healthz") { _, _ in "ok\n" }
        // Ready: the database answers too.
        routes.get("readyz") { _, _ -> String in
            do {
                _ = try await store.studies()
                return "ready\n"
            } catch {
                throw HTTPError(.serviceUnavailable, message: "database unavailable")
            }
        }
    }
}
