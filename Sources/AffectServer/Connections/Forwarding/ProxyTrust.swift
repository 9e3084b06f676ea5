import HTTPTypes

/// Whose word the server takes for where a request came from. A request's peer is a trusted proxy
/// when its address is in one of the `--trusted-proxy` ranges; then, and only then, its
/// `X-Forwarded-For` and `X-Forwarded-Proto` headers say who the client is and whether it used HTTPS.
/// From anyone else those headers are ignored: a client cannot claim another address or a secure
/// connection by sending them itself.
public struct ProxyTrust: Sendable, Equatable {
    /// Where the proxies are.
    public var trustedProxies: [AddressRange]
    /// Whether this server terminates TLS itself (`--tls-cert`): then every request is secure.
    public var terminatesTLS: Bool

    /// Hops of `X-Forwarded-For` looked at, from the right; a longer chain is cut there.
    static let maximumHops = 32

    public init(trustedProxies: [AddressRange] = [], terminatesTLS: Bool = false) {
        self.trustedProxies = trustedProxies
        self.terminatesTLS = terminatesTLS
    }

    func isTrusted(_ address: String) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The client of a request that came from `peer` (nil when the socket has no IP address) with `headers`.
    public func client(peer: String?, headers: HTTPFields) -> RequestClient {
        let peerAddress = peer ?? "unknown"
        guard let peer, isTrusted(peer) else { return RequestClient(address: peerAddress, isSecure: terminatesTLS) }
        // Each proxy appends the address it heard from, so the list is read from the right: past our
        // own proxies, the first address is the client's. Anything left of it was written by the
        // client and is not believed.
        let hops = Self.values(headers, "x-forwarded-for")
        var client = peer
        for hop in hops.reversed().prefix(Self.maximumHops) {
            guard AddressRange.bytes(of: hop) != nil else { break }
            client = hop
            if !isTrusted(hop) { break }
        }
        // The proxy nearest this server sets (or appends) the scheme last: its word counts.
        let scheme = Self.values(headers, "x-forwarded-proto").last?.lowercased()
        return RequestClient(address: client, isSecure: terminatesTLS || scheme == "https")
    }

    /// A header's comma-separated values over all its lines, trimmed, in order.
    /// `name` in lower case, as HTTP field names compare.
    private static func values(_ headers: HTTPFields, _ name: String) -> [String] {
        headers.filter { $0.name.canonicalName == name }.flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

