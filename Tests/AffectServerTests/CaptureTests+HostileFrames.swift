import AffectVision
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Testing

/// Frames and upgrades as an attacker sends them (P6 findings 2, 5 and 7).
extension CaptureTests {
    /// A real JPEG whose frame header is rewritten to declare `width` x `height`: a few hundred bytes
    /// that a decoder without a limit turns into width x height x 3 bytes of memory.
    static func bomb(width: Int, height: Int) throws -> Data {
        let small = try #require(Image(bgr: [UInt8](repeating: 128, count: 16 * 16 * 3), width: 16, height: 16)).jpegData()
        var bytes = [UInt8](small)
        let sof = try #require((2..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 5] = UInt8(height >> 8); bytes[sof + 6] = UInt8(height & 0xFF)
        bytes[sof + 7] = UInt8(width >> 8); bytes[sof + 8] = UInt8(width & 0xFF)
        return Data(bytes)
    }

    /// Resident memory of this process (the server runs in it), from /proc.
    static func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Finding 2: one 28 KB frame declaring 32000x32000 pixels took the server from 211 MB to 3.2 GB.
    /// Now its header is read first: the socket closes with 1009 and nothing is decoded.
    @Test(.enabled(if: ready)) func aDecompressionBombIsRefusedBeforeDecoding() async throws {
        try await withServer { client, fixture in
            let bomb = try Self.bomb(width: 32000, height: 32000)
            #expect(bomb.count < 2000)
            let steady = try await fixture.consentedLink()
            async let steadyClose = client.ws("/p/\(steady)/ws") { inbound, outbound, _ in
                try await Self.watch(outbound, count: 40)
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                for try await _ in inbound {}
            }
            let before = Self.residentBytes()
            try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
                for _ in 0..<4 {
                    let secret = try await fixture.consentedLink()
                    group.addTask {
                        // One bomb each. The server closes the socket at once; under load the test client
                        // can lose the race and fail writing its own close reply ("I/O on closed channel")
                        // before it reports the server's close frame. Such a socket says nothing here; the
                        // refusal counter below still counts every bomb.
                        do {
                            return try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                                try? await outbound.writeBinaryMessage(Self.message(media: 0, capture: 0, jpeg: bomb))
                                for try await _ in inbound {}
                            }
                        } catch ChannelError.ioOnClosedChannel {
                            return nil
                        }
                    }
                }
                var reported = 0
                for try await close in group {
                    guard let close else { continue }
                    reported += 1
                    #expect(close.closeCode == .messageTooLarge)
                    #expect(close.reason == "a 32000x32000 frame is over the 4 MP limit", "\(close.reason ?? "")")
                }
                #expect(reported >= 1, "at least one client saw the server's close frame")
            }
            // Decoded, each bomb would take 3 GB. The bound is the process's resident memory, which the
            // suites running beside this one move too (a console password derivation takes 32 MiB), so it
            // is loose enough for them and still far below one decoded bomb.
            let grown = Self.residentBytes() - before
            #expect(grown < 256 << 20, "resident memory grew by \(grown >> 20) MB")
            #expect(try await steadyClose?.closeCode == .normalClosure, "the other session went on")
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains(#"affect_frames_refused_total{reason="pixels"} 4"#))
            }
        }
    }

    /// Findings 5 and 7: a truncated JPEG decoded "fine" (grey where data was missing) and a frame that
    /// would not decode closed the socket with 1011 (server error), only once the next frame arrived.
    /// Now the socket closes at once, with 1007 and the reason, without another frame.
    @Test(.enabled(if: ready)) func aDamagedFrameClosesItsSocketAtOnceWith1007() async throws {
        try await withServer { client, fixture in
            let truncated = Self.frames[0].prefix(Self.frames[0].count / 2)
            let secret = try await fixture.consentedLink()
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await outbound.writeBinaryMessage(Self.message(media: 0, capture: 0, jpeg: Data(truncated)))
                // Nothing more is sent: the server must close by itself.
                for try await _ in inbound {}
            }
            #expect(close?.closeCode == .dataInconsistentWithMessage)
            #expect(close?.reason == "a frame is damaged (premature end of JPEG file)", "\(close?.reason ?? "")")
            // A frame that is not even a readable JPEG header is refused before the engine sees it.
            let garbled = try await fixture.consentedLink()
            let refused = try await client.ws("/p/\(garbled)/ws") { inbound, outbound, _ in
                try await outbound.writeBinaryMessage(Self.message(media: 0, capture: 0, jpeg: Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00])))
                for try await _ in inbound {}
            }
            #expect(refused?.closeCode == .dataInconsistentWithMessage)
            #expect(refused?.reason?.hasPrefix("frame is not a readable JPEG") == true)
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            #expect(sessions.count == 2 && sessions.allSatisfy { $0.status == "completed" }, "both sessions are closed in the store")
        }
    }

    /// Text messages are commands and device results, a few KB at most: one bigger than 64 KB is refused
    /// before it is parsed (the socket itself takes messages up to twice the frame limit).
    @Test(.enabled(if: ready)) func aBigTextMessageIsRefusedBeforeItIsParsed() async throws {
        try await withServer { client, fixture in
            let secret = try await fixture.consentedLink()
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await outbound.writeTextMessage(#"{"type": "end", "padding": ""# + String(repeating: "x", count: 100_000) + #""}"#)
                for try await _ in inbound {}
            }
            #expect(close?.closeCode == .messageTooLarge)
            #expect(close?.reason == "a text message over 64 KB")
        }
    }

    /// Finding 7: a refused upgrade was an empty 400 whatever the reason. Now 404 for an unknown link,
    /// 410 for a used, expired or withdrawn one, each with a JSON reason the page can show.
    @Test(.enabled(if: ready)) func aRefusedUpgradeSaysWhy() async throws {
        try await withServer { client, fixture in
            let port = try #require(client.port)
            /// The answer to a WebSocket handshake through the link, read from the socket as a browser gets it.
            func refusal(_ secret: String) async throws -> (Int, String) {
                let response = try await RawConnection.run {
                    let connection = try RawConnection(port: port)
                    connection.send("GET /p/\(secret)/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    return RawConnection.parse(connection.readToEnd().bytes)
                }
                #expect(response.headers.lowercased().contains("content-type: application/json"))
                return (response.status, ServerFixture.errorMessage(ByteBuffer(string: response.body)))
            }
            #expect(try await refusal(String(repeating: "ab", count: 24)) == (404, "this participant link does not exist"))
            let (_, unconsented) = try await fixture.store.createInvitation(study: fixture.study.id, hours: 1, actor: "test")
            #expect(try await refusal(unconsented) == (410, "this participant link has no consent yet"))
            let used = try await fixture.consentedLink()
            // As the page does: send the end, then wait for the server's close (it comes once the session is closed).
            _ = try await client.ws("/p/\(used)/ws") { inbound, outbound, _ in
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                for try await _ in inbound.messages(maxSize: 1 << 20) {}
            }
            #expect(try await refusal(used) == (410, "this participant link has already been used for a session"))
            let withdrawn = try await fixture.consentedLink()
            try await client.execute(uri: "/p/\(withdrawn)/withdraw", method: .post) { #expect($0.status == .ok) }
            #expect(try await refusal(withdrawn) == (410, "consent given through this link was withdrawn"))
        }
    }
}
