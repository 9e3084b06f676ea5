/// How `affect serve` runs.
public struct ServerConfiguration: Sendable {
    /// The address to bind; 127.0.0.1 unless the server should be reachable from other machines.
    public var host: String
    public var port: Int
    /// Where uploaded stimulus videos are kept; uploads are refused without one.
    public var stimulusDirectory: String?
    /// The largest stimulus upload, in bytes.
    public var maximumUploadBytes: Int
    /// Timeouts, the head size limit and the connection cap.
    public var connections: ConnectionLimits
    /// Console cookies marked `Secure` whatever the request says (they are anyway on requests that came over HTTPS).
    public var secureCookies: Bool = false
    /// The certificate when the server speaks TLS itself (HTTPS and WSS on its one port).
    public var tls: TLSContextSource?
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` the server believes (``ProxyTrust``).
    public var trustedProxies: [AddressRange] = []

    /// How requests' clients are worked out.
    var proxyTrust: ProxyTrust { ProxyTrust(trustedProxies: trustedProxies, terminatesTLS: tls != nil) }

    /// The scheme browsers reach this server with, when it says itself (a proxy may say otherwise).
    public var scheme: String { tls == nil ? "http" : "https" }

    public init(host: String = "127.0.0.1", port: Int = 8080, stimulusDirectory: String? = nil,
                maximumUploadBytes: Int = 2 * 1024 * 1024 * 1024, connections: ConnectionLimits = ConnectionLimits()) {
        self.host = host
        self.port = port
        self.stimulusDirectory = stimulusDirectory
        self.maximumUploadBytes = maximumUploadBytes
        self.connections = connections
    }

    /// Whether the bound address is reachable only from this machine.
    public var isLoopbackOnly: Bool {
        let name = host.lowercased()
        return name == "localhost" || name == "::1" || name == "[::1]" || name.hasPrefix("127.")
    }

    /// What to tell the operator at start when participants on other machines could reach the server
    /// over plain HTTP: their browsers will not give such a page the camera (only https:// pages and
    /// localhost get it), and the participant page will say so. Nil on loopback, with TLS, or behind
    /// a trusted proxy (which is there to terminate TLS) or one declared with `--secure-cookies`.
    public var plainHTTPWarning: String? {
        guard !isLoopbackOnly, tls == nil, trustedProxies.isEmpty, !secureCookies else { return nil }
        return "listening on \(host) over plain HTTP: browsers give the camera only to https:// pages (and localhost), "
            + "so participants on other machines cannot take part; serve HTTPS (--tls-cert and --tls-key) or put an "
            + "HTTPS reverse proxy in front (--trusted-proxy ADDRESS), or keep the server on 127.0.0.1"
    }
}
