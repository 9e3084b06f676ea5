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
    /// Console cookies marked `Secure`: the server is reached over HTTPS (directly or through a proxy).
    public var secureCookies: Bool = false

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
    /// localhost get it), and the participant page will say so. Nil on loopback, or when the server is
    /// declared to be behind HTTPS (`--secure-cookies`).
    public var plainHTTPWarning: String? {
        guard !isLoopbackOnly, !secureCookies else { return nil }
        return "listening on \(host) over plain HTTP: browsers give the camera only to https:// pages (and localhost), "
            + "so participants on other machines cannot take part; put an HTTPS reverse proxy in front "
            + "(and pass --secure-cookies), or keep the server on 127.0.0.1"
    }
}
