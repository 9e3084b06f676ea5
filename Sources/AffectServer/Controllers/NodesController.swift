import AffectStore
import Hummingbird

/// `/api/v1/nodes` (admin): the servers on this database, as each last reported itself: address,
/// heartbeat, whether it drains or is ready for new sessions, and how many captures it runs. A node
/// silent for more than a few seconds has stopped (its sessions resume elsewhere).
struct NodesController {
    let store: PrivacyStore

    func addRoutes(to group: Routes) {
        group.get("") { _, context -> [PrivacyStore.Node] in
            try context.authorize(.administer)
            return try await store.nodes()
        }
    }
}

extension PrivacyStore.Node: ResponseEncodable {}
