import AffectVision
import AffectWebRTC

/// How this server receives cameras over WebRTC (`affect serve --ice-server`, `--webrtc-ports`,
/// `--webrtc-max-sessions`, `--webrtc-fps`).
public struct WebRTCSettings: Sendable {
    /// STUN and TURN servers for the server and the pages (none: host candidates, for a LAN or loopback).
    public var iceServers: [ICEServer]
    /// Local addresses ICE may use (`--webrtc-address`); empty for every interface but loopback.
    public var addresses: [String]
    /// Local UDP ports ICE may use; nil for any.
    public var ports: ClosedRange<Int>?
    /// WebRTC sessions this node runs at once; more are refused (503) and `/readyz` says the node is full.
    public var maximumSessions: Int
    /// The rate pages' tracks carry unless their study sets one.
    public var framesPerSecond: Double
    /// Decoded frames with more pixels end the session.
    public var maximumPixels: Int
    /// The largest camera size pages are asked for (the server refuses more pixels than ``maximumPixels``).
    public var maximumWidth: Int
    public var maximumHeight: Int

    public init(iceServers: [ICEServer] = [], addresses: [String] = [], ports: ClosedRange<Int>? = nil, maximumSessions: Int = 24,
                framesPerSecond: Double = 15, maximumPixels: Int = PixelLimit.capture,
                maximumWidth: Int = 640, maximumHeight: Int = 480) {
        self.iceServers = iceServers
        self.addresses = addresses
        self.ports = ports
        self.maximumSessions = maximumSessions
        self.framesPerSecond = framesPerSecond
        self.maximumPixels = maximumPixels
        self.maximumWidth = maximumWidth
        self.maximumHeight = maximumHeight
    }

    var receiverOptions: WebRTCReceiver.Options {
        WebRTCReceiver.Options(iceServers: iceServers, addresses: addresses, ports: ports, maximumPixels: maximumPixels)
    }
}
