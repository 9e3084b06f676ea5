import AffectCore
@testable import AffectServer
import AffectStore
import AffectTestSupport
import AffectWebRTC
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// WebRTC sessions through the real server, with GStreamer's real webrtcbin behind each one (the media
/// itself, from a real browser, is tested by tests/browser/test_webrtc_e2e.py).
extension CaptureTests {
    static var webRTCReady: Bool { ready && (try? WebRTCRuntime.initialize()) != nil }

    /// The first message of a socket opened with `?transport=webrtc`, parsed.
    static func readyMessage(_ messages: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> [String: Any]? {
        guard case .text(let ready) = try await messages.next() else { return nil }
        return try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any]
    }

    /// A node with two WebRTC places: eight pages opening at once get two WebRTC sessions between them; the
    /// others are refused as the node being full (503 before the upgrade, or a close after it) and their
    /// links stay unused, so they can come back; once the two close, their places are free again.
    @Test(.enabled(if: webRTCReady), arguments: TestDatabase.Backend.available)
    func aNodesWebRTCPlacesAreTakenOnceEach(_ backend: TestDatabase.Backend) async throws {
        let settings = WebRTCSettings(addresses: ["127.0.0.1"], maximumSessions: 2)
        try await withServer(backend, transport: .webrtc, webRTC: settings) { client, fixture in
            var secrets: [String] = []
            for _ in 0..<8 { secrets.append(try await fixture.consentedLink()) }
            let opened = Shared(0)
            let readiness = Shared<[String?]>([])
            let transports = await withTaskGroup(of: String?.self) { group in
                for secret in secrets {
                    group.addTask {
                        await firstOf(within: 60) {
                            let transport = Shared<String?>(nil)
                            _ = try? await client.ws("/p/\(secret)/ws?transport=webrtc") { inbound, outbound, _ in
                                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                                let ready = try await Self.readyMessage(&messages)
                                transport.withLock { $0 = ready?["transport"] as? String }
                                guard ready?["transport"] as? String == "webrtc" else { return }
                                // Held open while the others try; with both open, the node says it is full.
                                opened.withLock { $0 += 1 }
                                let deadline = ContinuousClock.now + .seconds(20)
                                while opened.withLock({ $0 }) < 2 && ContinuousClock.now < deadline {
                                    try await Task.sleep(for: .milliseconds(20))
                                }
                                readiness.withLock { $0.append(fixture.capture.notReadyBecause) }
                                try await Task.sleep(for: .seconds(2))
                                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                                while try await messages.next() != nil {}
                            }
                            return transport.withLock { $0 }
                        } ?? nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(transports.filter { $0 == "webrtc" }.count == 2, "\(transports)")
            #expect(opened.withLock { $0 } == 2)
            #expect(readiness.withLock { $0 }.allSatisfy { $0?.contains("WebRTC") == true }, "/readyz says the node is full")
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            #expect(sessions.count == 2, "a page refused for want of a place started no session")
            #expect(fixture.capture.webRTCSessions == 0, "closed connections give their places back")
            #expect(fixture.capture.notReadyBecause == nil)
            // A refused page comes back through its unused link and gets a place.
            let refused = try #require(try await secrets.asyncFirst(where: { try await Self.sessionOfLink(fixture, secret: $0) == nil }))
            let again = Shared<String?>(nil)
            _ = try await client.ws("/p/\(refused)/ws?transport=webrtc") { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                let ready = try await Self.readyMessage(&messages)
                again.withLock { $0 = ready?["transport"] as? String }
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                while try await messages.next() != nil {}
            }
            #expect(again.withLock { $0 } == "webrtc")
            let first = try #require(sessions.first)
            let provenance = try #require(try await fixture.store.provenance(id: first.provenanceID))
            #expect(provenance.configuration["transport"] == "webrtc")
        }
    }

    /// What a WebRTC session's page may not send: pictures, signalling out of order, malformed messages.
    /// Each closes the socket with its code and a reason; a page asking for WebRTC in a JPEG study gets JPEG.
    @Test(.enabled(if: webRTCReady)) func aWebRTCSessionRefusesWhatItDoesNotTake() async throws {
        let settings = WebRTCSettings(addresses: ["127.0.0.1"])
        try await withServer(transport: .webrtc, webRTC: settings) { client, fixture in
            let cases: [(send: @Sendable (WebSocketOutboundWriter) async throws -> Void, code: WebSocketErrorCode, reason: String)] = [
                ({ try await $0.writeBinaryMessage(Self.message(media: 0, capture: 0, jpeg: Self.frames[0])) },
                 .policyViolation, "send no JPEG frames"),
                ({ try await $0.writeTextMessage(#"{"type": "ice", "mline": 0, "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#) },
                 .policyViolation, "candidates come after the offer"),
                ({ try await $0.writeTextMessage(#"{"type": "webrtc-offer", "sdp": "not sdp"}"#) },
                 .dataInconsistentWithMessage, "starts with v=0"),
                ({ try await $0.writeTextMessage(#"{"type": "clock", "frames": [[-1, 20]]}"#) },
                 .dataInconsistentWithMessage, "a clock pair is"),
                ({ try await $0.writeTextMessage(#"{"type": "clock", "frames": [[4294967296, 20]]}"#) },
                 .dataInconsistentWithMessage, "a clock pair is"),
                ({ try await $0.writeTextMessage(#"{"type": "clock", "frames": [[90000, 1e300]]}"#) },
                 .dataInconsistentWithMessage, "a clock pair is"),
                ({ try await $0.writeTextMessage(#"{"type": "webrtc-offer", "sdp": 7}"#) },
                 .dataInconsistentWithMessage, "malformed WebRTC message"),
            ]
            for (send, code, reason) in cases {
                let secret = try await fixture.consentedLink()
                let close = try await client.ws("/p/\(secret)/ws?transport=webrtc") { inbound, outbound, _ in
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    let ready = try await Self.readyMessage(&messages)
                    #expect(ready?["transport"] as? String == "webrtc")
                    let offer = ready?["webrtc"] as? [String: Any]
                    #expect(offer?["max_width"] as? Int == 640 && offer?["fps"] as? Double == 15)
                    try await send(outbound)
                    while try await messages.next() != nil {}
                }
                #expect(close?.closeCode == code, "\(reason): \(String(describing: close))")
                #expect(close?.reason?.contains(reason) == true, "\(String(describing: close?.reason))")
            }
            #expect(fixture.capture.webRTCSessions == 0)
        }
        // A study sent as JPEGs: a page asking for WebRTC is answered with JPEG, and WebRTC messages are refused.
        try await withServer(transport: .jpeg, webRTC: settings) { client, fixture in
            let secret = try await fixture.consentedLink()
            let close = try await client.ws("/p/\(secret)/ws?transport=webrtc") { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                let ready = try await Self.readyMessage(&messages)
                #expect(ready?["transport"] as? String == "jpeg")
                #expect(ready?["webrtc"] == nil)
                try await outbound.writeTextMessage(#"{"type": "webrtc-offer", "sdp": "v=0\r\n"}"#)
                while try await messages.next() != nil {}
            }
            #expect(close?.closeCode == .policyViolation && close?.reason?.contains("no WebRTC connection") == true)
        }
    }
}

/// A value tasks share, behind one lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

extension Sequence {
    /// The first element for which `predicate` holds, asking one at a time.
    func asyncFirst(where predicate: (Element) async throws -> Bool) async rethrows -> Element? {
        for element in self where try await predicate(element) { return element }
        return nil
    }
}
