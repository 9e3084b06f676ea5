/// How a participant's camera reaches the server, for studies analysed on the server.
public enum CaptureTransport: String, Sendable, Hashable, Codable, CaseIterable {
    /// JPEG snapshots over the page's WebSocket, at the rate the server asks for (2 to 10 a second).
    case jpeg
    /// An encrypted WebRTC video track (DTLS-SRTP, congestion-controlled), up to 30 frames a second,
    /// each placed on the stimulus clock by its RTP timestamp. Pages whose browser cannot send one fall
    /// back to JPEG, and the session's provenance says which it used.
    case webrtc
}
