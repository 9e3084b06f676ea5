import AffectStore
import Logging
import ServiceLifecycle

/// Keeps this server's claim on the sessions it runs, and settles the sessions of servers that died.
///
/// Every third of the store's session lease it renews the lease of each capture this server runs
/// (a paused page writes nothing for a while, and its lease must not run out meanwhile), stops any
/// capture whose session was resumed elsewhere, and marks `interrupted` every session whose owner's
/// lease ran out, all in one transaction (``PrivacyStore/leaseRound(renewing:actor:)``): that is how a crash's stranded
/// sessions come to count for retention, purge and reports. Every node runs it; the store's
/// statements make running it on several nodes at once harmless. It runs once at start, before the
/// first wait, so a restarted server settles what its previous run left at once.
struct SessionLeaseService: Service {
    let store: PrivacyStore
    let capture: CaptureService
    let logger: Logger

    func run() async throws {
        let interval = Duration.milliseconds(store.sessionLeaseMilliseconds / 3)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await upkeep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One round: renew, stop what was lost, settle what expired. A failure (the database briefly
    /// unreachable) is logged and the next round tries again.
    func upkeep() async {
        do {
            let round = try await store.leaseRound(renewing: { [capture] in capture.runningSessions() }, actor: "server")
            for lost in round.lost where capture.stop(session: lost, because: .superseded) {
                logger.warning("a session this server ran was resumed elsewhere or ended; stopped its capture",
                               metadata: ["session": "\(lost)"])
            }
            if !round.interrupted.isEmpty {
                logger.info("sessions whose server stopped renewing them are now interrupted",
                            metadata: ["sessions": "\(round.interrupted.joined(separator: ","))"])
            }
        } catch {
            logger.warning("session lease upkeep failed; trying again: \(error)")
        }
    }
}
