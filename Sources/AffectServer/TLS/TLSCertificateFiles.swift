import Foundation
import NIOSSL

/// The certificate chain and private key `affect serve` answers TLS with: PEM files, read at start
/// and again on SIGHUP (a renewed certificate goes into service without a restart).
public struct TLSCertificateFiles: Sendable, Equatable {
    /// The certificate first, then any intermediates (what certbot calls `fullchain.pem`).
    public var certificatePath: String
    public var keyPath: String

    /// PEM files are a few KiB; a file much larger than this is not one.
    static let maximumFileBytes = 1024 * 1024

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// Reads both files and checks them, then makes the context every connection's handshake uses:
    /// HTTP/1.1 only (WebSockets upgrade from it), TLS 1.2 and later.
    ///
    /// - Throws: ``TLSCertificateProblem`` naming the first thing wrong: a file missing or unreadable,
    ///   no certificate or key in it, a key that is not the certificate's, a certificate out of date.
    public func makeContext(now: Date = Date()) throws -> NIOSSLContext {
        let certificateBytes = try Self.read(certificatePath, option: "--tls-cert")
        let keyBytes = try Self.read(keyPath, option: "--tls-key")
        guard let chain = try? NIOSSLCertificate.fromPEMBytes(certificateBytes), let leaf = chain.first else {
            throw TLSCertificateProblem.noCertificate(certificatePath)
        }
        guard let key = try? NIOSSLPrivateKey(bytes: keyBytes, format: .pem) else {
            throw TLSCertificateProblem.noKey(keyPath)
        }
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        if notAfter < now { throw TLSCertificateProblem.expired(certificatePath, on: notAfter) }
        if notBefore > now { throw TLSCertificateProblem.notYetValid(certificatePath, from: notBefore) }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL checks that the key is the certificate's when the context takes both; the
            // certificate and the key have each been read above, so the pair is what failed.
            throw TLSCertificateProblem.mismatch(certificate: certificatePath, key: keyPath)
        }
    }

    /// A file's bytes, bounded; its absence or unreadability as a problem that names the option.
    private static func read(_ path: String, option: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TLSCertificateProblem.missing(option, path)
        }
        if isDirectory.boolValue { throw TLSCertificateProblem.unreadable(option, path, reason: "it is a directory") }
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw TLSCertificateProblem.unreadable(option, path, reason: Self.reason(error))
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data()
        } catch {
            throw TLSCertificateProblem.unreadable(option, path, reason: Self.reason(error))
        }
        if data.count > maximumFileBytes { throw TLSCertificateProblem.tooLarge(option, path) }
        return [UInt8](data)
    }

    /// The system's words for why a file could not be opened ("Permission denied"), without Foundation's wrapping.
    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))).lowercased() }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoPermissionError { return "permission denied" }
        return "it could not be opened"
    }
}
