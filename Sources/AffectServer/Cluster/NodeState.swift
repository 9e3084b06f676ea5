import Synchronization

/// This server as one node among several on a database: its identity, its address and whether it
/// drains (shuts down, handing its pages to other nodes).
public final class NodeState: Sendable {
    /// The node's id: the owner its sessions' leases name.
    public let id: String
    /// Where it serves, for the node list (`http://host:port`); set once the server listens.
    private let boundAddress = Mutex("")
    private let drainingFlag = Atomic<Bool>(false)

    public init(id: String) {
        self.id = id
    }

    public var address: String {
        get { boundAddress.withLock { $0 } }
        set { boundAddress.withLock { $0 = newValue } }
    }

    /// Shutting down: `/readyz` fails so the balancer sends new sessions elsewhere.
    public var isDraining: Bool { drainingFlag.load(ordering: .acquiring) }

    func startDraining() { drainingFlag.store(true, ordering: .releasing) }

}
