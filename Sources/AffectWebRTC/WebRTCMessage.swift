import AffectCore
import Foundation

/// The text messages that set up and time a WebRTC camera track over the page's capture socket:
/// parsed and checked here, beside their limits, and encoded here for the server's replies and the
/// tests, so the two cannot drift. (The page's own encoder is `participant.js`.)
///
/// Page to server, after consent and the socket's `ready`:
/// - `{"type": "webrtc-offer", "sdp": "v=0..."}` once: the page's offer, one video track, send-only;
/// - `{"type": "ice", "mline": 0, "candidate": "candidate:..."}`: the page's ICE candidates;
/// - `{"type": "clock", "frames": [[rtp_timestamp, t_ms], ...], "wall": [[unix_ms, t_ms], ...], "stopped": unix_ms}`,
///   each field optional: `frames`, from a browser with the encoded-frame API, gives for each frame the track
///   carries while the stimulus plays its RTP timestamp and the stimulus's media time, sent as the frame is
///   encoded, so it reaches the server before the frame is decoded (``RTPStimulusClock``); `wall` gives
///   the stimulus's media time at times of the page's wall clock, and `stopped` the wall-clock time the
///   stimulus stopped (paused, held), which with the browser's RTCP sender reports place frames from
///   browsers without that API (``SenderReportStimulusClock``). The page opens its socket with
///   `&clock=sender-reports` then.
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
        public var frames: [[Double]]?
        /// `[unix_ms, t_ms]` each.
        public var wall: [[Double]]?
        /// Unix ms.
        public var stopped: Double?

        public init(pairs: [RTPStimulusClock.Pair] = [], wall: [WallPair] = [], stoppedAtWallMilliseconds: Double? = nil) {
            frames = pairs.isEmpty ? nil : pairs.map { [Double($0.rtpTimestamp), $0.mediaMilliseconds] }
            self.wall = wall.isEmpty ? nil : wall.map { [$0.wallMilliseconds, $0.mediaMilliseconds] }
            stopped = stoppedAtWallMilliseconds
        }
    }

    /// The stimulus's media time when the page's wall clock (Unix time) read `wallMilliseconds`.
    public struct WallPair: Sendable, Hashable {
        public var wallMilliseconds: Double
        public var mediaMilliseconds: Double

        public init(wallMilliseconds: Double, mediaMilliseconds: Double) {
            self.wallMilliseconds = wallMilliseconds
            self.mediaMilliseconds = mediaMilliseconds
        }
    }

    /// One clock message, checked.
    public struct ClockReport: Sendable, Hashable {
        public var frames: [RTPStimulusClock.Pair]
        public var wall: [WallPair]
        public var stoppedAtWallMilliseconds: Double?

        public init(frames: [RTPStimulusClock.Pair] = [], wall: [WallPair] = [], stoppedAtWallMilliseconds: Double? = nil) {
            self.frames = frames
            self.wall = wall
            self.stoppedAtWallMilliseconds = stoppedAtWallMilliseconds
        }

        /// The latest stimulus time the message names.
        public var lastMediaMilliseconds: Double? { frames.last?.mediaMilliseconds ?? wall.last?.mediaMilliseconds }
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
        /// Wall-clock times are Unix milliseconds from 2001 to 2100.
        public static let wallMilliseconds = 978_307_200_000.0...4_102_444_800_000.0
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

    /// Decodes and checks a clock message: whole 32-bit timestamps, finite times from 0 to a day, wall-clock
    /// times in range.
    public static func clock(from text: String) throws(Refusal) -> ClockReport {
        let clock = try decode(Clock.self, from: text)
        let (frames, wall) = (clock.frames ?? [], clock.wall ?? [])
        guard frames.count + wall.count <= Limit.pairsPerMessage else { throw .tooLarge("more than \(Limit.pairsPerMessage) clock pairs") }
        guard !frames.isEmpty || !wall.isEmpty || clock.stopped != nil else { throw .malformed("a clock message names a time") }
        var report = ClockReport()
        report.frames.reserveCapacity(frames.count)
        for frame in frames {
            guard frame.count == 2, let rtp = UInt32(exactly: frame[0]), Self.isMediaTime(frame[1]) else {
                throw .malformed("a clock pair is [RTP timestamp, media time in ms]")
            }
            report.frames.append(.init(rtpTimestamp: rtp, mediaMilliseconds: frame[1]))
        }
        for pair in wall {
            guard pair.count == 2, Limit.wallMilliseconds.contains(pair[0]), Self.isMediaTime(pair[1]) else {
                throw .malformed("a wall-clock pair is [Unix time in ms, media time in ms]")
            }
            report.wall.append(.init(wallMilliseconds: pair[0], mediaMilliseconds: pair[1]))
        }
        if let stopped = clock.stopped {
            guard Limit.wallMilliseconds.contains(stopped) else { throw .malformed("stopped is a Unix time in ms") }
            report.stoppedAtWallMilliseconds = stopped
        }
        return report
    }

    private static func isMediaTime(_ value: Double) -> Bool {
        value.isFinite && (0...Limit.mediaMilliseconds).contains(value)
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
