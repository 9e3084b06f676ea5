import AffectCore
import AffectStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// This server as one node of several on one PostgreSQL (and the only one on SQLite).
///
/// Once a second it writes its heartbeat and what its dashboard shows of the sessions it runs
/// (``PrivacyStore/publish(node:statuses:)``, which notifies the other nodes), then mirrors what the
/// other nodes published into its own ``LiveFeed``, with the records their sessions stored since the
/// last round: a dashboard on any node lists every node's sessions, and its audience timeline is built
/// from every node's stored records. Notifications only make that sooner; the rounds alone keep every
/// dashboard within two seconds, since a notification missed while a connection was down is not
/// sent again.
///
/// A withdrawal or deletion on any node notifies ``ClusterMessage/stop(session:)`` when it commits:
/// the node running that session stops its capture at once and every node drops it from its feed.
///
/// On graceful shutdown the node drains: `/readyz` fails at once, so the balancer sends new sessions
/// elsewhere; each running capture writes what it has pending and closes its page with 1012, so the
/// page resumes its session on another node; then the node leaves the list.
public struct ClusterService: Service {
    let store: PrivacyStore
    let capture: CaptureService
    let logger: Logger
    var node: NodeState { capture.node }
    /// Between rounds; the dashboard's two-second promise rests on it.
    var interval: Duration = .seconds(1)
    /// The longest a drain waits for its captures to write and close.
    var drainLimit: Duration = .seconds(15)

    public init(store: PrivacyStore, capture: CaptureService, logger: Logger) {
        self.store = store
        self.capture = capture
        self.logger = logger
    }

    public func run() async throws {
        let wake = WakeFlag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let messages = store.clusterMessages() {
                    group.addTask {
                        for await message in messages {
                            if Task.isCancelled { break }
                            handle(message, wake: wake)
                        }
                    }
                }
                group.addTask {
                    var follower = RemoteSessions()
                    var nextPublish = ContinuousClock.now
                    while !Task.isCancelled, !node.isDraining {
                        // Publish on the clock; read sooner when another node published. A round woken
                        // by a notification does not publish itself: that would wake the others again.
                        let woken = wake.take()
                        if ContinuousClock.now >= nextPublish {
                            nextPublish = ContinuousClock.now.advanced(by: interval)
                            await round(&follower, publishing: true)
                        } else if woken {
                            await round(&follower, publishing: false)
                        } else {
                            try? await Task.sleep(for: Self.wakeCheck)
                        }
                    }
                }
                // Runs until the drain below lets it go.
                while !node.isDraining && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            node.startDraining()
        }
        await drain()
    }

    private func handle(_ message: ClusterMessage, wake: WakeFlag) {
        switch message {
        case .stop(let session):
            capture.feed.remove(session: session)
            if capture.stop(session: session, because: .withdrawn) {
                logger.info("capture stopped: its session was withdrawn or deleted through another node",
                            metadata: ["session": "\(session)"])
            }
        case .live(let other):
            if other != node.id { wake.raise() }
        }
    }

    /// Publishes this node's sessions (when `publishing`), then mirrors the others'. A database that
    /// does not answer is logged once per outage; the next round tries again.
    func round(_ follower: inout RemoteSessions, publishing: Bool) async {
        do {
            if publishing {
                let local = capture.feed.localStatuses()
                let encoder = AffectJSON.encoder()
                let statuses = try local.map { status in
                    PrivacyStore.PublishedStatus(session: status.session, study: status.study, node: node.id, epoch: status.epoch,
                                                 status: String(decoding: try encoder.encode(status), as: UTF8.self))
                }
                try await store.publish(node: nodeRow(sessions: local.filter { $0.state == .running }.count), statuses: statuses)
            }
            try await follow(&follower)
            follower.failing = false
        } catch {
            if !follower.failing { logger.warning("publishing or reading the cluster's live status failed; retrying: \(error)") }
            follower.failing = true
        }
    }

    /// How often a waiting round looks whether another node published.
    static let wakeCheck = Duration.milliseconds(50)

    /// A remote session silent this long is shown interrupted: its node stopped publishing.
    static let silentNodeMilliseconds: Int64 = 5000

    private func follow(_ follower: inout RemoteSessions) async throws {
        let decoder = AffectJSON.decoder()
        var remote: [LiveFeed.SessionStatus] = []
        for published in try await store.publishedStatuses(otherThan: node.id) {
            guard var status = try? decoder.decode(LiveFeed.SessionStatus.self, from: Data(published.status.utf8)) else { continue }
            status.node = published.node
            if status.state == .running, published.ageMilliseconds > Self.silentNodeMilliseconds {
                status.state = .interrupted
                status.reason = "its node stopped answering; the page may resume it through its link"
            }
            remote.append(status)
        }
        let mirrored = capture.feed.mirror(remote)
        follower.forget(except: Set(mirrored.keys))
        for (session, entry) in mirrored where follower.written[session] != entry.status.recordsWritten {
            let records = try await store.records(session: session, after: entry.latest)
            capture.feed.add(records, session: session)
            follower.written[session] = entry.status.recordsWritten
        }
    }

    private func nodeRow(sessions: Int) -> PrivacyStore.Node {
        PrivacyStore.Node(id: node.id, address: node.address, draining: node.isDraining, ready: capture.notReadyBecause == nil,
                          sessions: sessions)
    }

    /// Hands every running capture over to other nodes, waits (bounded) until they have written and
    /// closed, and leaves the node list.
    private func drain() async {
        let handed = capture.drainAll()
        if handed > 0 { logger.info("draining: asked \(handed) pages to resume on another node") }
        let deadline = ContinuousClock.now.advanced(by: drainLimit)
        while capture.hasRunningCaptures, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if capture.hasRunningCaptures { logger.warning("draining: captures still closing after \(drainLimit); stopping anyway") }
        do {
            try await store.removeNode(node.id)
        } catch {
            logger.warning("draining: could not leave the node list: \(error)")
        }
    }
}

/// How many stored records each remote session had when this node last fetched them: a session
/// whose count did not change is not read again.
struct RemoteSessions {
    var written: [String: Int] = [:]
    /// Whether the last round failed, so an outage is logged once.
    var failing = false

    mutating func forget(except kept: Set<String>) {
        written = written.filter { kept.contains($0.key) }
    }
}

/// Set when another node published, so the waiting round runs early; taken by that round.
final class WakeFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .releasing) }

    /// Whether it was raised since the last take; lowers it.
    func take() -> Bool { raised.exchange(false, ordering: .acquiringAndReleasing) }
}
