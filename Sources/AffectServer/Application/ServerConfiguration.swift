/// How `affect serve` runs.
public struct ServerConfiguration: Sendable {
    /// The address to bind; 127.0.0.1 unless the server should be reachable from other machines.
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}
