import Foundation

/// Why a certificate or key given to `affect serve` cannot be used, in one line that names the file
/// and says what to do. Nothing of the files' contents is repeated.
public struct TLSCertificateProblem: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The file is not there, or cannot be opened.
        case unreadable
        /// The file is there but is not what it should be, or the pair does not fit, or it is out of date.
        case unusable
    }

    public let kind: Kind
    public let description: String

    static func missing(_ option: String, _ path: String) -> Self {
        .init(kind: .unreadable, description: "\(option) \(path): no such file")
    }

    static func unreadable(_ option: String, _ path: String, reason: String) -> Self {
        .init(kind: .unreadable, description: "\(option) \(path) cannot be read (\(reason))")
    }

    static func tooLarge(_ option: String, _ path: String) -> Self {
        .init(kind: .unusable, description: "\(option) \(path) is larger than \(TLSCertificateFiles.maximumFileBytes / 1024) KiB: not a PEM file")
    }

    static func noCertificate(_ path: String) -> Self {
        .init(kind: .unusable, description: "--tls-cert \(path) holds no PEM certificate (it should begin with -----BEGIN CERTIFICATE-----)")
    }

    static func noKey(_ path: String) -> Self {
        .init(kind: .unusable, description: "--tls-key \(path) holds no unencrypted PEM private key "
              + "(an encrypted key needs its passphrase removed: openssl pkey -in KEY -out PLAIN)")
    }

    static func mismatch(certificate: String, key: String) -> Self {
        .init(kind: .unusable, description: "--tls-key \(key) is not the private key of the certificate in --tls-cert \(certificate)")
    }

    static func expired(_ path: String, on date: Date) -> Self {
        .init(kind: .unusable, description: "the certificate in --tls-cert \(path) expired on \(Self.day(date)); renew it")
    }

    static func notYetValid(_ path: String, from date: Date) -> Self {
        .init(kind: .unusable, description: "the certificate in --tls-cert \(path) is not valid until \(Self.day(date)) "
              + "(is this machine's clock right?)")
    }

    private static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: date) + " UTC"
    }
}
