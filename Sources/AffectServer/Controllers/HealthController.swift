import AffectStore
import Hummingbird

/// Liveness and readiness for process supervisors and load balancers.
struct HealthController {
    let store: PrivacyStore

    func addRoutes(to router: Router<AffectRequestContext>) {
        // Alive: the process answers.
        router.get("healthz") { _, _ in "ok\n" }
        // Ready: the database answers too.
        router.get("readyz") { _, _ -> String in
            do {
                _ = try await store.studies()
                return "ready\n"
            } catch {
                throw HTTPError(.serviceUnavailable, message: "database unavailable")
            }
        }
    }
}
