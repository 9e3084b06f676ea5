#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of IP addresses written as CIDR (`10.0.0.0/8`, `2001:db8::/32`) or one address
/// (`192.0.2.10`, the same as `/32`): where `--trusted-proxy` says the server's proxies are.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's bytes (4 for IPv4, 16 for IPv6), host bits cleared.
    let network: [UInt8]
    let prefixLength: Int

    /// Parses `text`; nil when it is neither an address nor an address with a prefix length that fits it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parts.first.flatMap({ Self.bytes(of: String($0)) }) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard parts[1].count <= 3, parts[1].allSatisfy({ ("0"..."9").contains($0) }), let given = Int(parts[1]),
                  (0...bits).contains(given) else { return nil }
            length = given
        }
        network = Self.masked(address, to: length)
        prefixLength = length
    }

    /// Whether `address` (as text, as a socket reports it) is in this range. An IPv4 address seen on
    /// an IPv6 socket (`::ffff:192.0.2.10`) counts as the IPv4 address.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(of: address) else { return false }
        if bytes.count == 16, network.count == 4, bytes.prefix(12) == Self.mappedPrefix[...] { bytes = Array(bytes.suffix(4)) }
        guard bytes.count == network.count else { return false }
        return Self.masked(bytes, to: prefixLength) == network
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = network.count == 4 ? AF_INET : AF_INET6
        _ = network.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(prefixLength)"
    }

    private static let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]

    /// An address's bytes, or nil when `text` is not an IPv4 or IPv6 address (names are not looked up).
    static func bytes(of text: String) -> [UInt8]? {
        var trimmed = Substring(text)
        if trimmed.hasPrefix("["), trimmed.hasSuffix("]") { trimmed = trimmed.dropFirst().dropLast() }
        guard !trimmed.isEmpty, trimmed.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(trimmed), &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(trimmed), &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func masked(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = max(0, min(8, length - index * 8))
            return kept == 8 ? byte : byte & ~(UInt8(0xFF) >> kept)
        }
    }
}
