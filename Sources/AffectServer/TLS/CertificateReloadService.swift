#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the server's certificate on SIGHUP (what certbot's deploy hook or `systemctl reload` send),
/// for as long as the server runs. Connections already open keep the certificate they began with.
struct CertificateReloadService: Service {
    let source: TLSContextSource
    let logger: Logger

    init(source: TLSContextSource, logger: Logger) {
        self.source = source
        self.logger = logger
        // From now on a SIGHUP never ends the server (its default action), even one that arrives
        // before the service below starts listening for it.
        signal(SIGHUP, SIG_IGN)
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            do {
                try source.reload()
                logger.notice("SIGHUP: reloaded the certificate from \(source.files.certificatePath)")
            } catch {
                logger.error("SIGHUP: kept the certificate in service: \(error)")
            }
        }
    }
}
