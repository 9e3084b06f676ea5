import AffectCore
@testable import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Testing

/// Device analysis through the real server: results a page made itself, checked and stored like the
/// server's own, and forged or malformed ones refused with a close code and counted.
extension CaptureTests {
    /// The page's first message: the hashes of what it runs (here: what the server serves).
    static func hello(_ kernel: DeviceKernel, build: String = "simd", kernelHash: String? = nil) -> String {
        """
        {"type": "device", "build": "\(build)", "kernel_sha256": "\(kernelHash ?? (build == "simd" ? kernel.simd : kernel.scalar).sha256)",
         "detector_sha256": "\(kernel.detector.sha256)", "classifier_sha256": "\(kernel.classifier.sha256)"}
        """
    }

    /// A results message: one face per frame at `times`, mostly happy, as the page reports it.
    static func results(times: [Double], probabilities: [Double] = [0.01, 0.01, 0.02, 0.9, 0.02, 0.02, 0.02],
                        box: [Double] = [0.3, 0.2, 0.4, 0.5]) -> String {
        let frames = times.map { time in
            """
            {"t_ms": \(time), "width": 640, "height": 480, "cost_ms": 9.5,
             "faces": [{"box": \(box), "score": 0.95, "probabilities": \(probabilities)}]}
            """
        }
        return #"{"type": "results", "frames": ["# + frames.joined(separator: ",") + "]}"
    }

    @Test(.enabled(if: ready), arguments: TestDatabase.Backend.available)
    func deviceResultsAreStoredLikeTheServersOwn(_ backend: TestDatabase.Backend) async throws {
        try await withServer(backend, analysis: .device, deviceFps: 30) { client, fixture in
            let kernel = try #require(fixture.capture.deviceKernel)
            let secret = try await fixture.consentedLink()
            // 30 frames a second for 1.5 s, in three batches, as the study asks.
            let times = (0..<45).map { Double($0) * 1000 / 30 }
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                guard case .text(let ready) = try await messages.next() else { Issue.record("no ready message"); return }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any])
                #expect(object["analysis"] as? String == "device")
                #expect(object["fps"] as? Double == 30, "the study's rate, not the server's default (15)")
                let served = try #require(object["kernel"] as? [String: [String: String]])
                #expect(served["simd"]?["sha256"] == kernel.simd.sha256 && served["simd"]?["url"] == "/static/kernel/inference-kernel-simd.wasm")
                #expect(served["classifier"]?["sha256"] == kernel.classifier.sha256)
                try await outbound.writeTextMessage(Self.hello(kernel))
                for batch in stride(from: 0, to: times.count, by: 15) {
                    try await outbound.writeTextMessage(Self.results(times: Array(times[batch..<(batch + 15)])))
                    try await Task.sleep(for: .milliseconds(500))
                }
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                while try await messages.next() != nil {}
            }
            #expect(close?.closeCode == .normalClosure, "\(String(describing: close?.reason))")
            let session = try #require(try await Self.sessionOfLink(fixture))
            #expect(session.status == "completed")
            let stored = try await fixture.store.results(session: session.id).compactMap { record -> FaceRow? in
                if case .face(let row) = record { return row }
                return nil
            }
            #expect(stored.map(\.timeMilliseconds) == times, "every frame, on the stimulus clock: a 30 fps timeline")
            #expect(stored.allSatisfy { $0.track != nil }, "tracked, as server analysis is")
            #expect(stored.allSatisfy { ($0.emotions[.happy] ?? 0) > 0.5 })
            let provenance = try #require(try await fixture.store.provenance(id: session.provenanceID))
            #expect(provenance.configuration["analysis"] == "device")
            #expect(provenance.models["inference kernel (wasm, SIMD)"] == kernel.simd.sha256)
            #expect(provenance.models["emotion-mini-xception (kernel program)"] == kernel.classifier.sha256)
            let live = try #require(fixture.capture.feed.snapshot().sessions.first { $0.status.session == session.id })
            #expect(live.points.count == times.count, "the dashboard's feed holds what was stored")
            // The kernel's files are served as the ready message says, with their hashes as ETags.
            try await client.execute(uri: "/static/kernel/inference-kernel-simd.wasm", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "application/wasm")
                #expect(response.body.readableBytes == kernel.simd.bytes.count)
                #expect(response.headers[.eTag] == "\"\(kernel.simd.sha256)\"")
            }
            for path in ["/static/kernel/manifest.json", "/static/kernel/../../models/manifest.json"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound || response.status == .badRequest, "\(path): \(response.status)")
                }
            }
        }
    }

    /// One forged or malformed message per socket: each is closed with its code and reason, nothing
    /// of it is stored, and `/metrics` counts it by reason.
    @Test(.enabled(if: ready), arguments: TestDatabase.Backend.available)
    func forgedDeviceResultsAreRefusedWithACodeAndCounted(_ backend: TestDatabase.Backend) async throws {
        try await withServer(backend, analysis: .device) { client, fixture in
            let kernel = try #require(fixture.capture.deviceKernel)
            let hello = Self.hello(kernel)
            let cases: [(name: String, messages: [String], code: WebSocketErrorCode, reason: String)] = [
                ("wrong sum", [hello, Self.results(times: [0], probabilities: [0.5, 0.5, 0.5, 0, 0, 0, 0])],
                 .dataInconsistentWithMessage, "invalid device result: probabilities sum to 1.5, not 1"),
                ("NaN", [hello, Self.results(times: [0]).replacingOccurrences(of: "0.95", with: "NaN")],
                 .dataInconsistentWithMessage, "malformed device message: not JSON with a \"type\""),
                ("negative", [hello, Self.results(times: [0], probabilities: [-0.1, 0.1, 0.02, 0.9, 0.02, 0.04, 0.02])],
                 .dataInconsistentWithMessage, "invalid device result: a probability is outside 0 to 1"),
                ("box outside", [hello, Self.results(times: [0], box: [0.8, 0.2, 0.4, 0.5])],
                 .dataInconsistentWithMessage, "invalid device result: a box is outside its frame"),
                ("future", [hello, Self.results(times: [600_000])],
                 .dataInconsistentWithMessage, "device result out of time: a stimulus time is ahead of the session's clock"),
                ("backwards", [hello, Self.results(times: [100, 50])],
                 .dataInconsistentWithMessage, "device result out of time: stimulus times must increase (50.0 after 100.0)"),
                ("wrong hashes", [Self.hello(kernel, kernelHash: String(repeating: "0", count: 64))],
                 .policyViolation, "the page's analysis files are not the ones this server serves; reload the page"),
                ("no hello", [Self.results(times: [0])],
                 .policyViolation, "results came before the page said what it analyses with"),
                ("too fast", [hello, Self.results(times: (0..<40).map { Double($0) * 10 })],
                 .policyViolation, "more than 30 analysed frames per second"),
                ("too large", [hello, String(repeating: " ", count: 70_000) + #"{"type": "results"}"#],
                 .messageTooLarge, "a device message over 64 KB"),
            ]
            for forged in cases {
                let secret = try await fixture.consentedLink()
                let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                    for message in forged.messages { try? await outbound.writeTextMessage(message) }
                    for try await _ in inbound {}
                }
                #expect(close?.closeCode == forged.code, "\(forged.name): \(String(describing: close?.closeCode))")
                #expect(close?.reason == forged.reason, "\(forged.name): \(close?.reason ?? "")")
            }
            // A picture is never taken from a device session, even a valid one.
            let secret = try await fixture.consentedLink()
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await outbound.writeTextMessage(hello)
                try await outbound.writeBinaryMessage(Self.message(media: 0, capture: 0, jpeg: Self.frames[0]))
                for try await _ in inbound {}
            }
            #expect(close?.closeCode == .policyViolation)
            #expect(close?.reason == "this session is analysed in the participant's browser: the server takes no pictures")
            var stored = 0
            for session in try await fixture.store.sessions(study: fixture.study.id) {
                stored += try await fixture.store.results(session: session.id).count
            }
            #expect(stored == 0, "nothing of a refused message is kept")
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                for (reason, count) in [("invalid", 3), ("malformed", 1), ("time", 2), ("hashes", 1), ("no_hello", 1), ("rate", 1), ("bytes", 1)] {
                    #expect(text.contains("affect_device_results_refused_total{reason=\"\(reason)\"} \(count)"),
                            "\(reason): \(text.split(separator: "\n").filter { $0.contains("device_results") })")
                }
            }
        }
    }

    /// A device page that goes quiet is ended like a server-analysed one whose frames stop: its
    /// session closes with what it has, and the socket with 1011 and the reason.
    @Test(.enabled(if: ready)) func aDevicePageThatGoesQuietIsEnded() async throws {
        try await withServer(analysis: .device, idleSeconds: 1) { client, fixture in
            let kernel = try #require(fixture.capture.deviceKernel)
            let secret = try await fixture.consentedLink()
            let started = ContinuousClock.now
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await outbound.writeTextMessage(Self.hello(kernel))
                try await outbound.writeTextMessage(Self.results(times: [0, 33, 67]))
                for try await _ in inbound {}
            }
            #expect(close?.closeCode == .unexpectedServerError)
            #expect(close?.reason == "no frame arrived for 1 s", "\(close?.reason ?? "")")
            #expect(started.duration(to: .now) < .seconds(15))
            // The socket is closed as the capture stops; the session is closed in the store just after.
            var session = try #require(try await Self.sessionOfLink(fixture))
            for _ in 0..<50 where session.status == "running" {
                try await Task.sleep(for: .milliseconds(100))
                session = try #require(try await Self.sessionOfLink(fixture))
            }
            #expect(session.status == "completed")
            #expect(try await fixture.store.results(session: session.id).count == 3, "what came before is kept")
        }
    }

    /// A device study may offer server analysis to browsers that cannot analyse: the participant
    /// agrees to it in their consent (a purpose of its own), and their session takes frames; a study
    /// that does not offer it refuses that consent.
    @Test(.enabled(if: ready), arguments: TestDatabase.Backend.available)
    func aDeviceStudyFallsBackToServerAnalysisOnlyWithConsent(_ backend: TestDatabase.Backend) async throws {
        for offered in [true, false] {
            try await withServer(backend, analysis: .device, deviceFallback: offered) { client, fixture in
                let (_, secret) = try await fixture.store.createInvitation(study: fixture.study.id, stimulus: fixture.stimulus.id,
                                                                           hours: 1, actor: "test")
                try await client.execute(uri: "/p/\(secret)/briefing", method: .get) { response in
                    let briefing = try ServerFixture.json(response.body)
                    #expect(briefing["analysis"] as? String == "device" && briefing["device_fallback"] as? Bool == offered)
                    #expect((briefing["notice"] as? String)?.contains("you would be asked separately") == offered)
                }
                let consent = ByteBuffer(string: #"{"agreed": true, "server_analysis": true}"#)
                let status = try await client.execute(uri: "/p/\(secret)/consent", method: .post,
                                                      headers: [.contentType: "application/json"], body: consent) { $0.status }
                guard offered else {
                    #expect(status == .badRequest, "a study that does not offer it refuses server analysis")
                    return
                }
                #expect(status == .created)
                let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    guard case .text(let ready) = try await messages.next() else { Issue.record("no ready message"); return }
                    #expect(ready.contains(#""analysis":"server""#), "\(ready)")
                    try await Self.watch(outbound, count: 20)
                    try await outbound.writeTextMessage(#"{"type": "end"}"#)
                    while try await messages.next() != nil {}
                }
                #expect(close?.closeCode == .normalClosure)
                let session = try #require(try await Self.sessionOfLink(fixture))
                #expect(try await fixture.store.results(session: session.id).count > 0, "the frames were analysed on the server")
                let provenance = try #require(try await fixture.store.provenance(id: session.provenanceID))
                #expect(provenance.configuration["analysis"] != "device")
            }
        }
    }
}
