import AffectCore
import AffectPipeline
@testable import AffectServer
import AffectStore
import AffectTestSupport
import AffectVision
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Testing

/// Participant capture over a real WebSocket on 127.0.0.1, with the real models, real frames of a
/// talking-head clip, and a real SQLite store.
@Suite(.serialized) struct CaptureTests {
    static let clip = "talking-heads/WDA_KatieHill_000.mp4"

    /// The clip's first frames as JPEGs, made once in memory.
    static let frames: [Data] = {
        guard TestEnvironment.hasSharedData,
              let source = try? VideoInput(parsing: TestEnvironment.data(clip)).open() else { return [] }
        var frames: [Data] = []
        while frames.count < 60, (try? source.advance()) != nil {
            if let image = try? source.currentImage(), let jpeg = try? image.jpegData(quality: 85) { frames.append(jpeg) }
        }
        return frames
    }()

    static var ready: Bool { TestEnvironment.hasModels && TestEnvironment.hasSharedData && !frames.isEmpty }

    struct Fixture: Sendable {
        let store: PrivacyStore
        let capture: CaptureService
        let study: Study
        let stimulus: Stimulus

        /// A consented link's secret, as the participant page has it after consent.
        func consentedLink(hours: Double = 1) async throws -> String {
            let (_, secret) = try await store.createInvitation(study: study.id, stimulus: stimulus.id, hours: hours, actor: "test")
            _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [],
                                        segment: nil)
            return secret
        }
    }

    func withServer(_ backend: TestDatabase.Backend = .sqlite, maximumFrameBytes: Int = 300_000, mode: ProcessingMode = .individual,
                    readout: Bool = false, measures: Bool = false, k: Int = 5, analysis: AnalysisLocation = .server,
                    deviceFallback: Bool = false, deviceFps: Double? = nil, idleSeconds: Double = 300,
                    transport: CaptureTransport = .jpeg, webRTC: WebRTCSettings? = nil, _ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        let database = try TestDatabase.make(backend)
        defer { database.drop() }
        let store = try await database.open()
        let engine = LiveEngine(configuration: .init(workers: 2, detector: .blazeface, measures: measures),
                                catalog: try ModelCatalog(directory: TestEnvironment.modelsDirectory))
        try engine.start()
        defer { _ = engine.shutdown() }
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        // What bootstrap builds (scripts/build-kernel-wasm): device studies need it, others ignore it.
        let kernel = try? DeviceKernel(catalog: catalog, directory: DeviceKernel.defaultDirectory(catalog: catalog))
        if analysis == .device && kernel == nil { Issue.record("the wasm kernel is not built: run scripts/build-kernel-wasm") }
        let capture = CaptureService(engine: engine, store: store, feed: LiveFeed(),
                                     provenance: Provenance(models: ["test": "0"], configuration: ["detector": "blazeface"]),
                                     measuredProvenance: Provenance(models: ["test": "0", "facemesh": "1"],
                                                                    configuration: ["detector": "blazeface", "measures": "true"]),
                                     deviceKernel: kernel,
                                     settings: .init(maximumFrameBytes: maximumFrameBytes, maximumFramesPerSecond: 20,
                                                     idleSeconds: idleSeconds, webRTC: webRTC),
                                     metrics: engine.metrics)
        let study = try await store.createStudy(
            StudyDefinition(name: "Trailer", purpose: "Which cut holds attention", context: .mediaResearch, mode: mode,
                            kAnonymity: k, windowMilliseconds: 1000, participantReadout: readout, measures: measures,
                            analysis: analysis, deviceFallback: deviceFallback, deviceFramesPerSecond: deviceFps,
                            transport: transport),
            actor: "test")
        let stimulus = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/cut.mp4"),
                                                   actor: "test")
        let app = buildApplication(configuration: .init(host: "127.0.0.1", port: 0), store: store, capture: capture,
                                   metrics: engine.metrics)
        do {
            try await app.test(.live) { client in
                try await body(client, Fixture(store: store, capture: capture, study: study, stimulus: stimulus))
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// A frame message as the page sends it: media ms, capture ms, then the JPEG.
    static func message(media: Double, capture: Double, jpeg: Data) -> ByteBuffer {
        ByteBuffer(bytes: FrameMessage(mediaMilliseconds: media, captureMilliseconds: capture, jpeg: jpeg).encoded())
    }

    /// Sends `count` frames 100 ms apart on the stimulus clock (at 10 per second), then `{"type": "end"}`.
    static func watch(_ outbound: WebSocketOutboundWriter, count: Int, startingAt first: Int = 0) async throws {
        for index in first..<(first + count) {
            let media = Double(index) * 100
            try await outbound.writeBinaryMessage(message(media: media, capture: media + 5, jpeg: frames[index % frames.count]))
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test(.enabled(if: ready)) func framesBecomeStoredResultsOnTheStimulusClock() async throws {
        try await withServer { client, fixture in
            let secret = try await fixture.consentedLink()
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                guard case .text(let ready) = try await messages.next() else { Issue.record("no ready message"); return }
                #expect(ready.contains("\"type\":\"ready\""))
                #expect(ready.contains("\"fps\":2"), "adaptive sampling starts at its base rate")
                try await Self.watch(outbound, count: 40)
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                while let message = try await messages.next() {
                    if case .text(let text) = message { #expect(!text.contains("readout"), "this study shows no readout") }
                }
            }
            #expect(close?.closeCode == .normalClosure)
            let session = try #require(try await Self.sessionOfLink(fixture))
            #expect(session.status == "completed")
            #expect(session.stimulusID == fixture.stimulus.id)
            let records = try await fixture.store.results(session: session.id)
            let times = records.compactMap { record -> Double? in
                if case .face(let row) = record { return row.timeMilliseconds }
                return nil
            }
            #expect(times.count >= 5, "a face in most sampled frames of 4 s at 2 fps or more")
            #expect(times.allSatisfy { $0.truncatingRemainder(dividingBy: 100) == 0 && $0 <= 3900 },
                    "results carry the stimulus media time of the frame they came from")
            // The dashboard's feed holds exactly what was stored, and the session as ended.
            let live = try #require(fixture.capture.feed.snapshot().sessions.first { $0.status.session == session.id })
            #expect(live.status.state == .ended)
            #expect(live.points.map(\.timeMilliseconds) == times)
            #expect(live.status.framesReceived == 40)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"affect_frames_analysed_total{stream="participants"}"#), "one series for all participants")
                #expect(!text.contains(session.id), "no session ids in the unauthenticated metrics")
            }
            let audience = try #require(fixture.capture.feed.snapshot().audiences.first { $0.stimulus == fixture.stimulus.id })
            #expect(!audience.points.isEmpty && audience.points.allSatisfy { $0.n == 1 })
        }
    }

    @Test(.enabled(if: ready)) func badClientsAreClosedWithACodeAndOthersGoOn() async throws {
        try await withServer(maximumFrameBytes: 100_000) { client, fixture in
            let steady = try await fixture.consentedLink()
            // A well-behaved participant watches throughout while the others misbehave.
            async let steadyClose = client.ws("/p/\(steady)/ws") { inbound, outbound, _ in
                try await Self.watch(outbound, count: 50)
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                for try await _ in inbound {}
            }
            func closeCode(sending messages: [ByteBuffer], pauseMilliseconds: Int = 0) async throws -> WebSocketCloseFrame? {
                let secret = try await fixture.consentedLink()
                return try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                    for message in messages {
                        try await outbound.writeBinaryMessage(message)
                        if pauseMilliseconds > 0 { try await Task.sleep(for: .milliseconds(pauseMilliseconds)) }
                    }
                    for try await _ in inbound {}
                }
            }
            let big = Data([0xFF, 0xD8, 0xFF]) + Data(repeating: 7, count: 150_000)
            let oversized = try await closeCode(sending: [Self.message(media: 0, capture: 0, jpeg: big)])
            #expect(oversized?.closeCode == .messageTooLarge)
            #expect(oversized?.reason?.contains("exceeds the 100000-byte limit") == true)
            let png = try await closeCode(sending: [Self.message(media: 0, capture: 0, jpeg: Data([0x89, 0x50, 0x4E, 0x47] + [UInt8](repeating: 0, count: 64)))])
            #expect(png?.closeCode == .dataInconsistentWithMessage)
            #expect(png?.reason == "frame is not a JPEG image")
            let headless = try await closeCode(sending: [ByteBuffer(bytes: [1, 2, 3])])
            #expect(headless?.closeCode == .dataInconsistentWithMessage)
            #expect(headless?.reason?.contains("16-byte header") == true)
            let flood = (0..<60).map { Self.message(media: Double($0) * 10, capture: 0, jpeg: Self.frames[0]) }
            let fast = try await closeCode(sending: flood)
            #expect(fast?.closeCode == .policyViolation)
            #expect(fast?.reason == "more than 20 frames per second")

            // A link opens one session: a second connection through it is refused before any upgrade.
            await #expect(throws: (any Error).self) {
                try await client.ws("/p/\(steady)/ws") { _, _, _ in }
            }
            let (_, unconsented) = try await fixture.store.createInvitation(study: fixture.study.id, hours: 1, actor: "test")
            try await client.execute(uri: "/p/\(unconsented)/ws", method: .get) { response in
                #expect(response.status == .gone, "a link without consent opens no capture")
            }
            try await client.execute(uri: "/p/\(String(repeating: "ab", count: 24))/ws", method: .get) { #expect($0.status == .notFound) }
            let expired = try await fixture.consentedLink()
            try await fixture.store.database.transaction { try await $0.execute("UPDATE invitations SET expires_at = 0 WHERE session_id IS NULL") }
            try await client.execute(uri: "/p/\(expired)/ws", method: .get) { response in
                #expect(response.status == .gone && String(buffer: response.body).contains("expired"))
            }

            #expect(try await steadyClose?.closeCode == .normalClosure, "the well-behaved session was not disturbed")
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            let completed = sessions.filter { $0.status == "completed" }
            #expect(completed.count == 5, "every socket's session is closed in the store")
            let steadyResults = try await fixture.store.results(session: try #require(try await Self.sessionOfLink(fixture, secret: steady)).id)
            #expect(steadyResults.count >= 5)
        }
    }

    @Test(.enabled(if: ready)) func withdrawingThroughTheLinkStopsTheCaptureAndDeletesItsData() async throws {
        try await withServer { client, fixture in
            let secret = try await fixture.consentedLink()
            let store = fixture.store
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await Self.watch(outbound, count: 20)
                // Results are stored while the session runs...
                let session = try #require(try await Self.sessionOfLink(fixture, secret: secret))
                #expect(try await !store.results(session: session.id).isEmpty)
                // ...until the participant withdraws from the page (a plain POST, as the page does it).
                try await client.execute(uri: "/p/\(secret)/withdraw", method: .post) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("\"rows_deleted\""))
                }
                // The page stops sending, but a late frame must not be stored either.
                try? await outbound.writeBinaryMessage(Self.message(media: 99_000, capture: 0, jpeg: Self.frames[0]))
                for try await _ in inbound {}
            }
            #expect(close?.closeCode == .normalClosure)
            #expect(close?.reason?.contains("withdrawn") == true)
            #expect(try await store.sessions(study: fixture.study.id).isEmpty, "the session and its results are deleted")
            #expect(fixture.capture.feed.snapshot().sessions.isEmpty, "and gone from the dashboard")
            try await client.execute(uri: "/p/\(secret)/ws", method: .get) { #expect($0.status == .gone) }
        }
    }

    @Test(.enabled(if: ready)) func aStudyMayShowParticipantsWhatIsStoredAboutThem() async throws {
        try await withServer(mode: .aggregate, readout: true) { client, fixture in
            let secret = try await fixture.consentedLink()
            let shown = Collected()
            let close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                try await Self.watch(outbound, count: 30)
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, text.contains("\"readout\"") else { continue }
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    shown.append((object["points"] as? [[String: Any]] ?? []).compactMap { $0["t_ms"] as? Double })
                }
            }
            #expect(close?.closeCode == .normalClosure)
            // An aggregate study stores 1 s window means only: that is all the participant is shown.
            let session = try #require(try await Self.sessionOfLink(fixture))
            let windows = try await fixture.store.results(session: session.id).compactMap { record -> Double? in
                guard case .window(let row) = record, row.emotions != nil else { return nil }
                return (row.startMilliseconds + row.endMilliseconds) / 2
            }
            #expect(windows == [500, 1500, 2500])
            #expect(shown.values.sorted() == windows)
        }
    }

    /// Finding 3 of P7: ten sockets opened at once on one consented link opened 2 and 4 sessions. Now
    /// they share one: the first starts it, the others are refused as another window or resume it
    /// (fencing the one before), and what is stored has no frame twice.
    @Test(.enabled(if: ready), arguments: TestDatabase.Backend.available)
    func tenSocketsOnOneLinkOpenOneSession(_ backend: TestDatabase.Backend) async throws {
        try await withServer(backend) { client, fixture in
            let secret = try await fixture.consentedLink()
            let closes = await withTaskGroup(of: WebSocketCloseFrame?.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        // A client the server refused may never return (see firstOf): counted as refused.
                        await firstOf(within: 60) {
                            try? await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                                try await Self.watch(outbound, count: 5)
                                try await outbound.writeTextMessage(#"{"type": "end"}"#)
                                for try await _ in inbound {}
                            } ?? nil
                        } ?? nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            #expect(sessions.count == 1, "\(closes.map { $0?.reason ?? "refused" })")
            let session = try #require(sessions.first)
            let times = try await fixture.store.results(session: session.id).compactMap { record -> Double? in
                switch record {
                case .face(let row): row.timeMilliseconds
                case .noFace(let row): row.timeMilliseconds
                default: nil
                }
            }
            #expect(Set(times).count == times.count, "no frame stored twice")
        }
    }

    /// A page that loses its connection reconnects through its link and goes on with the same session
    /// from where its stored results end.
    @Test(.enabled(if: ready), arguments: TestDatabase.Backend.available)
    func aReconnectingPageResumesItsSession(_ backend: TestDatabase.Backend) async throws {
        try await withServer(backend) { client, fixture in
            let secret = try await fixture.consentedLink()
            // The first connection drops without an end (the page's network went away).
            _ = try await client.ws("/p/\(secret)/ws") { _, outbound, _ in
                try await Self.watch(outbound, count: 10)
                try await Task.sleep(for: .milliseconds(500))
            }
            let first = try #require(try await Self.sessionOfLink(fixture, secret: secret))
            let stored = try await fixture.store.results(session: first.id).count
            let resumeFrom = Collected()
            // Until the server has noticed the drop, the link is still open "in another window" and the
            // upgrade is refused; the page then tries again (participant.js: every second), as here.
            var attempts = 0
            var close: WebSocketCloseFrame?
            var upgraded = false
            while !upgraded {
                do {
                    close = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
                        var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        if case .text(let text) = try await messages.next(),
                           let ready = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                            resumeFrom.append([ready["resume_from_ms"] as? Double ?? -1])
                        }
                        // The page goes on from where it is; it re-sends nothing it sent before.
                        try await Self.watch(outbound, count: 10, startingAt: 10)
                        try await outbound.writeTextMessage(#"{"type": "end"}"#)
                        while try await messages.next() != nil {}
                    }
                    upgraded = true
                } catch where attempts < 10 {
                    attempts += 1
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(close?.closeCode == .normalClosure)
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            #expect(sessions.map(\.id) == [first.id] && sessions.first?.status == "completed" && sessions.first?.epoch == 2)
            #expect((resumeFrom.values.first ?? -1) > 0, "the page is told where the stored results end")
            #expect(try await fixture.store.results(session: first.id).count > stored)
        }
    }

    /// Values gathered inside a WebSocket handler.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var gathered: [Double] = []
        var values: [Double] { lock.withLock { gathered } }
        func append(_ more: [Double]) { lock.withLock { gathered += more } }
    }

    /// The session a link started, found through the store's own link record.
    static func sessionOfLink(_ fixture: Fixture, secret: String? = nil) async throws -> Session? {
        let sessions = try await fixture.store.sessions(study: fixture.study.id)
        guard let secret else { return sessions.first }
        let link = try? await fixture.store.participantLink(secret: secret)
        return sessions.first { $0.id == link?.invitation.sessionID }
    }
}
