import AffectCore
import Foundation

/// The text messages that set up and time a WebRTC camera track over the page's capture socket:
/// parsed and checked here, beside their limits, and encoded here for the server's replies and the
/// tests, so the two cannot drift. (The page's own encoder is `participant.js`.)
///
/// Page to server, after consent and the socket's `ready`:
/// - `{"type": "webrtc-offer", "sdp": "v=0..."}` once: the page's offer, one video track, send-only;
/// - `{"type": "ice", "mline": 0, "candidate": "candidate:..."}`: the page's ICE candidates;
/// - `{"type": "clock", "frames": [[rtp_timestamp, t_ms], ...]}`: for each frame the track carries while
///   the stimulus plays, its RTP timestamp and the stimulus's media time when it was captured, sent as
///   the frame is encoded, so it reaches the server before the frame is decoded.
///
/// Server to page: `{"type": "webrtc-answer", "sdp": "v=0..."}` once, and `{"type": "ice", ...}` for the
/// server's candidates.
public enum WebRTCMessage {
    public struct Offer: Codable, Sendable {
        var type = "webrtc-offer"
        public var sdp: String

        public init(sdp: String) { self.sdp = sdp }
    }

    public struct Answer: Codable, Sendable {
        var type = "webrtc-answer"
        public var sdp: String

        public init(sdp: String) { self.sdp = sdp }
    }

    public struct Candidate: Codable, Sendable {
        var type = "ice"
        public var mline: Int
        public var candidate: String

        public init(mline: Int, candidate: String) {
            self.mline = mline
            self.candidate = candidate
        }
    }

    public struct Clock: Codable, Sendable {
        var type = "clock"
        /// `[rtp_timestamp, t_ms]` each.
        public var frames: [[Double]]

        public init(pairs: [RTPStimulusClock.Pair]) {
            frames = pairs.map { [Double($0.rtpTimestamp), $0.mediaMilliseconds] }
        }
    }

    /// The most of each a message may hold.
    public enum Limit {
        /// An offer's SDP (Chromium's, one video track with its codecs, is 4 to 7 KB).
        public static let sdpBytes = 32 * 1024
        public static let candidateBytes = 512
        /// Clock pairs in one message (the page sends each frame's as it is encoded).
        public static let pairsPerMessage = 64
        /// WebRTC messages a page may send a second, sustained (a clock pair per frame at 30 fps, and room).
        public static let messagesPerSecond = 64.0
        /// ICE candidates one page may send (a browser gathers a handful per network interface).
        public static let candidates = 64
        /// Media times go up to a day.
        public static let mediaMilliseconds = 86_400_000.0
    }

    /// Why a message is refused; the socket closes with the reason.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case malformed(String)
        case tooLarge(String)
        case outOfOrder(String)

        public var description: String {
            switch self {
            case .malformed(let what): "malformed WebRTC message: \(what)"
            case .tooLarge(let what): "WebRTC message too large: \(what)"
            case .outOfOrder(let what): "WebRTC message out of order: \(what)"
            }
        }
    }

    /// Decodes and checks an offer.
    public static func offer(from text: String) throws(Refusal) -> Offer {
        let offer = try decode(Offer.self, from: text)
        guard offer.sdp.utf8.count <= Limit.sdpBytes else { throw .tooLarge("an offer over \(Limit.sdpBytes / 1024) KB") }
        guard offer.sdp.hasPrefix("v=0") else { throw .malformed("an offer's sdp starts with v=0") }
        return offer
    }

    /// Decodes and checks a candidate.
    public static func candidate(from text: String) throws(Refusal) -> Candidate {
        let candidate = try decode(Candidate.self, from: text)
        guard candidate.candidate.utf8.count <= Limit.candidateBytes else { throw .tooLarge("a candidate over \(Limit.candidateBytes) bytes") }
        guard (0..<8).contains(candidate.mline) else { throw .malformed("a candidate's mline is 0 to 7") }
        guard candidate.candidate.isEmpty || candidate.candidate.hasPrefix("candidate:"),
              !candidate.candidate.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .malformed("a candidate is an SDP candidate line")
        }
        return candidate
    }

    /// Decodes and checks clock pairs: whole 32-bit timestamps, finite times from 0 to a day.
    public static func clock(from text: String) throws(Refusal) -> [RTPStimulusClock.Pair] {
        let clock = try decode(Clock.self, from: text)
        guard clock.frames.count <= Limit.pairsPerMessage else { throw .tooLarge("more than \(Limit.pairsPerMessage) clock pairs") }
        var pairs: [RTPStimulusClock.Pair] = []
        pairs.reserveCapacity(clock.frames.count)
        for frame in clock.frames {
            guard frame.count == 2, let rtp = UInt32(exactly: frame[0]), frame[1].isFinite,
                  (0...Limit.mediaMilliseconds).contains(frame[1]) else {
                throw .malformed("a clock pair is [RTP timestamp, media time in ms]")
            }
            pairs.append(.init(rtpTimestamp: rtp, mediaMilliseconds: frame[1]))
        }
        return pairs
    }

    /// A message as it goes on the socket.
    public static func encode(_ message: some Encodable) throws -> String {
        String(decoding: try AffectJSON.encoder().encode(message), as: UTF8.self)
    }

    private static func decode<Message: Decodable>(_ type: Message.Type, from text: String) throws(Refusal) -> Message {
        do {
            return try AffectJSON.decoder().decode(type, from: Data(text.utf8))
        } catch {
            throw .malformed("not the JSON this message type takes")
        }
    }
}
