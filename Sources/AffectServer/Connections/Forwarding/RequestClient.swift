/// Who sent a request, as far as the server can tell: the peer's address and whether the browser
/// reached it over HTTPS, or, when the peer is a trusted proxy, what the proxy says of its own client.
public struct RequestClient: Sendable, Equatable {
    /// The client's IP address (the sign-in throttle counts per address; logs name it).
    public var address: String
    /// Whether the browser's connection is encrypted: TLS on this server's own port, or a trusted
    /// proxy's `X-Forwarded-Proto: https`. Cookies are then marked Secure and HSTS is sent.
    public var isSecure: Bool
}
