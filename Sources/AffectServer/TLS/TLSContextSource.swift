import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS context new connections take: made from ``TLSCertificateFiles`` at start, made again by
/// ``reload()`` (on SIGHUP). A connection keeps the context it began with; a reload that fails keeps
/// the one in service, so a bad renewal never takes a running server down.
public final class TLSContextSource: Sendable {
    public let files: TLSCertificateFiles
    /// The one mutable thing here, behind its lock.
    private let current: NIOLockedValueBox<NIOSSLContext>

    /// Reads and checks the files; throws ``TLSCertificateProblem`` when they cannot be used.
    public init(files: TLSCertificateFiles) throws {
        self.files = files
        current = NIOLockedValueBox(try files.makeContext())
    }

    /// The context for a connection arriving now.
    var context: NIOSSLContext { current.withLockedValue { $0 } }

    /// Reads the files again and puts the new context in service; on a problem the old one stays and
    /// the problem is thrown.
    public func reload() throws {
        let fresh = try files.makeContext()
        current.withLockedValue { $0 = fresh }
    }
}
