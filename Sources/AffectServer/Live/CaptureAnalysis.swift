import AffectCore
import AffectVision
import AffectWebRTC

/// Where a capture's results come from: the shared engine analysing the page's JPEGs
/// (``EngineAnalysis``) or its WebRTC camera track (``WebRTCAnalysis``), or the page's own analysis,
/// checked and passed on (``DeviceAnalysis``).
/// The session and its socket talk to this, whichever it is; each kind refuses the other's input.
protocol CaptureAnalysis: Sendable {
    var location: AnalysisLocation { get }
    /// Takes one message's worth of input from the page; results come out of the session's outputs.
    func accept(_ input: CaptureInput) throws(CaptureRefusal)
    /// The rate the page should analyse or send at now, if this analysis asks for one.
    var requestedRate: Double? { get }
    /// Why the analysis gave the stream up (shed under load, stalled), if it did.
    var failure: (any Error)? { get }
    /// Latency and drops for the dashboard, where measured here.
    var health: CaptureHealth { get }
    /// No more input will come: results still under way come out, then the stream ends.
    func end()
    /// Waits until every result is out; returns how many frames were dropped.
    func waitUntilFinished() async -> Int
    /// How the camera reaches the server, for server analysis (nil for device analysis).
    var transport: CaptureTransport? { get }
    /// Where messages the analysis has for the page go (WebRTC's answer and ICE candidates). Set by
    /// the socket before it reads the page's input.
    func sendToPage(_ send: @escaping @Sendable (String) -> Void)
}

extension CaptureAnalysis {
    func sendToPage(_ send: @escaping @Sendable (String) -> Void) {}
}

/// One message's worth of input from the page.
enum CaptureInput: Sendable {
    /// A camera frame, for server analysis.
    case frame(FrameMessage)
    /// What the page analyses with, for device analysis.
    case deviceHello(DeviceMessage.Hello)
    /// Results the page made, for device analysis.
    case deviceResults(DeviceMessage.Results)
    /// The page's WebRTC offer (SDP).
    case webRTCOffer(WebRTCMessage.Offer)
    /// One of the page's ICE candidates.
    case iceCandidate(WebRTCMessage.Candidate)
    /// Where the page's track is on the stimulus clock (frames' RTP timestamps, or wall-clock times).
    case clock(WebRTCMessage.ClockReport)

    /// How many frames this input stands for.
    var frameCount: Int {
        switch self {
        case .frame: 1
        case .deviceHello, .webRTCOffer, .iceCandidate: 0
        case .deviceResults(let results): results.frames.count
        case .clock: 0  // a WebRTC track's frames are counted by its analysis (``CaptureHealth/framesReceived``)
        }
    }
}

/// Why the page's input is refused: the socket closes with the code and the description.
enum CaptureRefusal: Error, Sendable, CustomStringConvertible {
    case frame(PushFrameSource.Rejection)
    case device(DeviceMessage.Refusal)
    case webRTC(WebRTCMessage.Refusal)
    /// Input for the other kind of analysis: frames to a device session, results to a server one.
    case wrongAnalysis(AnalysisLocation)
    /// Input for the other transport: JPEGs to a WebRTC session, WebRTC messages to a JPEG one.
    case wrongTransport(CaptureTransport)

    var description: String {
        switch self {
        case .frame(let rejection): rejection.description
        case .device(let refusal): refusal.description
        case .webRTC(let refusal): refusal.description
        case .wrongTransport(.webrtc): "this session receives the camera over WebRTC: send no JPEG frames"
        case .wrongTransport(.jpeg): "this session receives JPEG frames: it has no WebRTC connection"
        case .wrongAnalysis(.device): "this session is analysed in the participant's browser: the server takes no pictures"
        case .wrongAnalysis(.server): "this session is analysed on the server: send frames, not results"
        }
    }
}

/// What the dashboard shows of an analysis's health.
struct CaptureHealth: Sendable {
    var latencyP50Milliseconds: Double?
    var latencyP95Milliseconds: Double?
    var dropped = 0
    /// Frames received, when the analysis counts them itself (a WebRTC track's, placed on the stimulus
    /// clock); otherwise the session counts the page's messages.
    var framesReceived: Int?
}
