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
}
