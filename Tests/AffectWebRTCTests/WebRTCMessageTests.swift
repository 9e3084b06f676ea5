import AffectCore
import AffectWebRTC
import Testing

@Suite struct WebRTCMessageTests {
    @Test func clockPairsAreWholeTimestampsAndTimesOnTheStimulus() throws {
        let pairs = try WebRTCMessage.clock(from: #"{"type": "clock", "frames": [[0, 0], [4294967295, 86400000], [90000, 33.4]]}"#).frames
        #expect(pairs == [.init(rtpTimestamp: 0, mediaMilliseconds: 0), .init(rtpTimestamp: .max, mediaMilliseconds: 86_400_000),
                          .init(rtpTimestamp: 90000, mediaMilliseconds: 33.4)])
        for frames in ["[[-1, 0]]", "[[4294967296, 0]]", "[[1.5, 0]]", "[[1, -0.1]]", "[[1, 86400001]]", "[[1]]", "[[1, 2, 3]]",
                       "[[1, \"2\"]]", "[1, 2]"] {
            #expect(throws: WebRTCMessage.Refusal.self, "\(frames)") {
                try WebRTCMessage.clock(from: #"{"type": "clock", "frames": "# + frames + "}")
            }
        }
        let many = Array(repeating: "[1, 2]", count: WebRTCMessage.Limit.pairsPerMessage + 1).joined(separator: ",")
        #expect(throws: WebRTCMessage.Refusal.tooLarge("more than \(WebRTCMessage.Limit.pairsPerMessage) clock pairs")) {
            try WebRTCMessage.clock(from: #"{"type": "clock", "frames": ["# + many + "]}")
        }
    }

    /// A page without the encoded-frame API says where the stimulus is on its wall clock, and when it stopped.
    @Test func wallClockPairsAreUnixTimesAndTimesOnTheStimulus() throws {
        let report = try WebRTCMessage.clock(from: #"{"type": "clock", "wall": [[1796000000000.5, 1200]], "stopped": 1796000000100}"#)
        #expect(report.wall == [.init(wallMilliseconds: 1_796_000_000_000.5, mediaMilliseconds: 1200)])
        #expect(report.stoppedAtWallMilliseconds == 1_796_000_000_100 && report.frames.isEmpty)
        #expect(report.lastMediaMilliseconds == 1200)
        for bad in [#""wall": [[12, 0]]"#, #""wall": [[1796000000000, -1]]"#, #""wall": [[1796000000000]]"#,
                    #""wall": [[5000000000000, 0]]"#, #""stopped": 5"#, #""stopped": "now""#, #""frames": []"#] {
            #expect(throws: WebRTCMessage.Refusal.self, "\(bad)") { try WebRTCMessage.clock(from: #"{"type": "clock", "# + bad + "}") }
        }
        let half = Array(repeating: "[1796000000000, 2]", count: WebRTCMessage.Limit.pairsPerMessage / 2 + 1).joined(separator: ",")
        let frames = Array(repeating: "[1, 2]", count: WebRTCMessage.Limit.pairsPerMessage / 2).joined(separator: ",")
        #expect(throws: WebRTCMessage.Refusal.tooLarge("more than \(WebRTCMessage.Limit.pairsPerMessage) clock pairs"), "both kinds count") {
            try WebRTCMessage.clock(from: #"{"type": "clock", "frames": ["# + frames + #"], "wall": ["# + half + "]}")
        }
    }

    @Test func offersAndCandidatesAreChecked() throws {
        #expect(try WebRTCMessage.offer(from: #"{"type": "webrtc-offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#).sdp.hasPrefix("v=0"))
        #expect(throws: WebRTCMessage.Refusal.self) { try WebRTCMessage.offer(from: #"{"type": "webrtc-offer", "sdp": "hello"}"#) }
        #expect(throws: WebRTCMessage.Refusal.self) { try WebRTCMessage.offer(from: #"{"type": "webrtc-offer"}"#) }
        let big = String(repeating: "a", count: WebRTCMessage.Limit.sdpBytes)
        #expect(throws: WebRTCMessage.Refusal.self) { try WebRTCMessage.offer(from: #"{"type": "webrtc-offer", "sdp": "v=0"# + big + #""}"#) }

        let candidate = try WebRTCMessage.candidate(from: #"{"type": "ice", "mline": 0, "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}"#)
        #expect(candidate.mline == 0)
        #expect(try WebRTCMessage.candidate(from: #"{"type": "ice", "mline": 0, "candidate": ""}"#).candidate.isEmpty,
                "an empty candidate ends the page's gathering")
        for bad in [#"{"type": "ice", "mline": 9, "candidate": "candidate:1"}"#, #"{"type": "ice", "mline": 0, "candidate": "a=foo"}"#,
                    #"{"type": "ice", "mline": 0, "candidate": "candidate:1\r\na=inject"}"#, #"{"type": "ice", "candidate": "candidate:1"}"#] {
            #expect(throws: WebRTCMessage.Refusal.self, "\(bad)") { try WebRTCMessage.candidate(from: bad) }
        }
    }

    /// What the server sends decodes as the page reads it, and the encoder writes what the decoder takes.
    @Test func encodedMessagesRoundTrip() throws {
        let clock = try WebRTCMessage.encode(WebRTCMessage.Clock(pairs: [.init(rtpTimestamp: 90000, mediaMilliseconds: 12.5)]))
        #expect(try WebRTCMessage.clock(from: clock).frames == [.init(rtpTimestamp: 90000, mediaMilliseconds: 12.5)])
        let wall = try WebRTCMessage.encode(WebRTCMessage.Clock(wall: [.init(wallMilliseconds: 1_796_000_000_000, mediaMilliseconds: 3)],
                                                                stoppedAtWallMilliseconds: 1_796_000_000_050))
        #expect(try WebRTCMessage.clock(from: wall) == .init(wall: [.init(wallMilliseconds: 1_796_000_000_000, mediaMilliseconds: 3)],
                                                             stoppedAtWallMilliseconds: 1_796_000_000_050))
        let candidate = try WebRTCMessage.encode(WebRTCMessage.Candidate(mline: 0, candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"))
        #expect(candidate.contains(#""type":"ice""#))
        #expect(try WebRTCMessage.candidate(from: candidate).candidate == "candidate:1 1 udp 1 127.0.0.1 9 typ host")
        #expect(try WebRTCMessage.encode(WebRTCMessage.Answer(sdp: "v=0")).contains(#""type":"webrtc-answer""#))
    }

    @Test func iceServersAreParsedAndTURNTakesItsCredentialsFromTheEnvironment() throws {
        let stun = try ICEServer(parsing: "stun:stun.example.org:3478", environment: [:])
        #expect(stun.browserURL == "stun:stun.example.org:3478" && stun.username == nil)
        let turn = try ICEServer(parsing: "turn:turn.example.org:3478",
                                 environment: ["AFFECT_TURN_USERNAME": "affect", "AFFECT_TURN_PASSWORD": "p@ss:word"])
        #expect(turn.kind == .turn && turn.username == "affect" && turn.credential == "p@ss:word")
        #expect(throws: ICEServer.Invalid.self) { try ICEServer(parsing: "turn:turn.example.org:3478", environment: [:]) }
        for bad in ["stun.example.org:3478", "http:host:80", "stun:host", "stun:host:0", "stun:host:70000", "stun::3478",
                    "stun:ho st:3478", "stun:host/x:3478"] {
            #expect(throws: ICEServer.Invalid.self, "\(bad)") { try ICEServer(parsing: bad, environment: [:]) }
        }
    }
}
