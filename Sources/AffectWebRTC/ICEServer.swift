import Foundation

/// A STUN or TURN server for participants behind NAT, as `affect serve --ice-server` takes it:
/// `stun:host:port`, or `turn:host:port` (or `turns:`) whose username and password come from the
/// environment (`AFFECT_TURN_USERNAME`, `AFFECT_TURN_PASSWORD`), never from the command line.
public struct ICEServer: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case stun, turn, turns }

    public var kind: Kind
    public var host: String
    public var port: Int
    public var username: String?
    public var credential: String?

    /// Why a server address is not usable.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `stun:host:port` or `turn:host:port`; TURN takes its credentials from `environment`.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0].lowercased()) else {
            throw Invalid(description: "an ICE server is stun:HOST:PORT, turn:HOST:PORT or turns:HOST:PORT (got \(text.prefix(80)))")
        }
        var address = parts[1]
        if address.hasPrefix("//") { address.removeFirst(2) }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (1...65535).contains(port) else {
            throw Invalid(description: "an ICE server needs a port (1 to 65535): \(text.prefix(80))")
        }
        let host = String(address[..<colon])
        guard !host.isEmpty, host.utf8.count <= 253,
              host.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-[]:".unicodeScalars.contains($0) }) else {
            throw Invalid(description: "an ICE server's host is a name or an address: \(text.prefix(80))")
        }
        self.kind = kind
        self.host = host
        self.port = port
        if kind != .stun {
            guard let username = environment["AFFECT_TURN_USERNAME"], let password = environment["AFFECT_TURN_PASSWORD"],
                  !username.isEmpty, !password.isEmpty else {
                throw Invalid(description: "a TURN server needs AFFECT_TURN_USERNAME and AFFECT_TURN_PASSWORD in the environment")
            }
            self.username = username
            self.credential = password
        }
    }

    /// As a browser's `RTCIceServer.urls` takes it.
    public var browserURL: String { "\(kind.rawValue):\(host):\(port)" }

    /// As GStreamer's webrtcbin takes it (`stun://host:port`, `turn://user:password@host:port`).
    var gstreamerURL: String {
        func escaped(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@"))) ?? ""
        }
        switch kind {
        case .stun: return "stun://\(host):\(port)"
        case .turn, .turns:
            return "\(kind.rawValue)://\(escaped(username ?? "")):\(escaped(credential ?? ""))@\(host):\(port)"
        }
    }
}
