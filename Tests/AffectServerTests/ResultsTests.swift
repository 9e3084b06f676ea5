import AffectCore
@testable import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The results API over a real SQLite store: audience bins on the stimulus clock, k-anonymity after
/// every filter, CSV export, and stimulus uploads.
@Suite struct ResultsTests {
    struct Fixture: Sendable {
        let store: PrivacyStore
        let auth: HTTPFields
        let analyst: HTTPFields
        let study: Study
        let cutA: Stimulus
        let cutB: Stimulus
        let directory: URL
    }

    /// Probabilities with all mass on one expression.
    static func pure(_ emotion: Emotion) -> ReportedEmotions {
        ReportedEmotions(probabilities: Emotion.allCases.map { $0 == emotion ? 1 : 0 })!
    }

    /// A participant who watched `stimulus` looking `emotion` from 0 to 900 ms (a face row every 100 ms).
    static func watch(_ store: PrivacyStore, study: Study, stimulus: Stimulus, emotion: Emotion, segment: [String: String]) async throws {
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition),
                  purposes: [Consent.analysisPurpose, Consent.segmentPurpose], segment: segment), actor: "test")
        let session = try await store.startSession(study: study.id, participant: participant.id, stimulus: stimulus.id,
                                                   provenance: .init(models: ["m": "0"], configuration: [:]), actor: "test")
        let rows = (0..<10).map { MinimisedRecord.face(FaceRow(frame: $0, timeMilliseconds: Double($0) * 100, track: nil,
                                                                 emotions: pure(emotion))) }
        try await store.append(rows, toSession: session.id)
        try await store.endSession(session.id, actor: "test")
    }

    func withFixture(uploadLimit: Int = 1 << 20, _ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let admin = try await store.createToken(name: "admin", role: .admin, actor: "test").secret
        let study = try await store.createStudy(
            StudyDefinition(name: "Ads", purpose: "Which cut works", context: .marketResearch, kAnonymity: 2), actor: "test")
        // An analyst given this study (P9: other roles than admin reach only the studies they are given).
        let analyst = try await store.createToken(name: "ana", role: .analyst, studies: [study.id], actor: "test").secret
        let cutA = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/a.mp4"), actor: "test")
        let cutB = try await store.addStimulus(study: study.id, name: "Cut", variant: "B", source: .url("https://example.invalid/b.mp4"), actor: "test")
        // Variant A: two happy viewers aged 25-34 and one sad viewer aged 35-44. Variant B: one neutral viewer.
        try await Self.watch(store, study: study, stimulus: cutA, emotion: .happy, segment: ["age": "25-34"])
        try await Self.watch(store, study: study, stimulus: cutA, emotion: .happy, segment: ["age": "25-34"])
        try await Self.watch(store, study: study, stimulus: cutA, emotion: .sad, segment: ["age": "35-44"])
        try await Self.watch(store, study: study, stimulus: cutB, emotion: .neutral, segment: ["age": "25-34"])
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0,
                                                stimulusDirectory: directory.appendingPathComponent("stimuli").path,
                                                maximumUploadBytes: uploadLimit)
        let app = buildApplication(configuration: configuration, store: store)
        try await app.test(.live) { client in
            try await body(client, Fixture(store: store, auth: [.authorization: "Bearer \(admin)"],
                                           analyst: [.authorization: "Bearer \(analyst)"], study: study, cutA: cutA, cutB: cutB,
                                           directory: directory))
        }
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8)) as? [String: Any])
    }

    static func bins(_ results: [String: Any]) -> [[String: Any]] { results["bins"] as? [[String: Any]] ?? [] }

    @Test func binsAreMeansOverParticipantsAndSmallCellsAreWithheld() async throws {
        try await withFixture { client, fixture in
            let base = "/api/v1/studies/\(fixture.study.id)/results"
            try await client.execute(uri: base + "?variant=A", method: .get, headers: fixture.analyst) { response in
                #expect(response.status == .ok)
                let results = try Self.json(response.body)
                #expect(results["participants"] as? Int == 3)
                let bins = Self.bins(results)
                #expect(bins.count == 2, "0-900 ms in 500 ms bins")
                for bin in bins {
                    let estimates = bin["expressions"] as? [[String: Any]] ?? []
                    #expect(bin["n"] as? Int == 3)
                    // Two happy participants and one sad one: means 2/3 and 1/3 over participants.
                    #expect(abs((estimates[Emotion.happy.index]["mean"] as? Double ?? 0) - 2.0 / 3) < 1e-9)
                    #expect(abs((estimates[Emotion.sad.index]["mean"] as? Double ?? 0) - 1.0 / 3) < 1e-9)
                    #expect(estimates[Emotion.happy.index]["low"] is Double, "with its interval")
                }
            }
            // One participant is below k = 2: everything about them is withheld, count included.
            try await client.execute(uri: base + "?variant=A&segment=age:35-44", method: .get, headers: fixture.auth) { response in
                let results = try Self.json(response.body)
                let participants = results["participants"]
                #expect(Self.bins(results).isEmpty)
                #expect(results["suppressed_bins"] as? Int == 2)
                #expect(participants == nil || participants is NSNull)
            }
            try await client.execute(uri: base + "?variant=B", method: .get, headers: fixture.auth) { response in
                let results = try Self.json(response.body)
                #expect(Self.bins(results).isEmpty, "variant B has a single viewer")
            }
            try await client.execute(uri: base + "?segment=age:25-34&expression=happy&from_ms=500", method: .get, headers: fixture.auth) {
                response in
                let results = try Self.json(response.body)
                #expect(results["participants"] as? Int == 3, "two happy viewers of A and the neutral viewer of B")
                let bins = Self.bins(results)
                #expect(bins.map { $0["t_ms"] as? Double } == [500])
                let estimates = bins.first?["expressions"] as? [Any] ?? []
                #expect(abs(((estimates[Emotion.happy.index] as? [String: Any])?["mean"] as? Double ?? 0) - 2.0 / 3) < 1e-9)
                #expect(estimates[Emotion.neutral.index] is NSNull, "only the asked expression")
            }
            try await client.execute(uri: base + "?variant=A&format=csv", method: .get, headers: fixture.auth) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = String(buffer: response.body).split(separator: "\n")
                #expect(lines.first == "t_ms,participants,angry,disgust,fear,happy,sad,surprise,neutral,valence,engagement")
                #expect(lines.count == 3)
                #expect(lines[1].hasPrefix("0,3,0.000000,0.000000,0.000000,0.666667,0.333333,0.000000,0.000000,"))
            }
            try await client.execute(uri: base + "?expression=joy", method: .get, headers: fixture.auth) { #expect($0.status == .badRequest) }
            try await client.execute(uri: base + "?bin_ms=-5", method: .get, headers: fixture.auth) { #expect($0.status == .badRequest) }
            try await client.execute(uri: base, method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/sessions", method: .get, headers: fixture.analyst) { response in
                let sessions = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [[String: Any]])
                #expect(sessions.count == 4)
                #expect(sessions.allSatisfy { $0["status"] as? String == "completed" })
            }
            for format in ["json", "csv", "html"] {
                try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/report?format=\(format)", method: .get,
                                         headers: fixture.analyst) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains(format == "csv" ? "section,stimulus_id" : "Which cut works"))
                }
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/audience-moments", method: .get, headers: fixture.analyst) {
                #expect($0.status == .ok && String(buffer: $0.body) == "[]", "constant faces rise nowhere")
            }
            // Reviewing is a reviewer's (or the study's researcher's, or an admin's): not an analyst's.
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/audience-moments/am_0000000000000000", method: .post,
                                     headers: fixture.analyst, body: ByteBuffer(string: #"{"decision": "confirmed"}"#)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/audience-moments/am_0000000000000000", method: .post,
                                     headers: fixture.auth, body: ByteBuffer(string: #"{"decision": "confirmed"}"#)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/audience-moments/am_0000000000000000", method: .post,
                                     headers: fixture.auth, body: ByteBuffer(string: #"{"decision": "maybe"}"#)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/report?format=pdf", method: .get, headers: fixture.auth) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/moments", method: .get, headers: fixture.analyst) {
                #expect(String(buffer: $0.body) == "[]")
            }
        }
    }

    @Test func stimulusVideosCanBeUploadedAndArePlayedFromTheServer() async throws {
        try await withFixture(uploadLimit: 64 * 1024) { client, fixture in
            let uri = "/api/v1/studies/\(fixture.study.id)/stimuli/upload?name=Teaser&variant=A"
            let webm = Data([0x1A, 0x45, 0xDF, 0xA3]) + Data((0..<20_000).map { UInt8($0 % 251) })
            var stimulusID = ""
            var kept = fixture.directory
            try await client.execute(uri: uri, method: .post, headers: fixture.auth, body: ByteBuffer(bytes: webm)) { response in
                #expect(response.status == .created)
                let stimulus = try Self.json(response.body)
                stimulusID = stimulus["id"] as? String ?? ""
                let source = stimulus["source"] as? String ?? ""
                #expect(source.hasPrefix("upload:") && source.hasSuffix(".webm") && !source.contains("/"),
                        "the server names the file; no path reaches the client: \(source)")
                kept = fixture.directory.appendingPathComponent("stimuli").appendingPathComponent(String(source.dropFirst(7)))
                #expect(FileManager.default.contents(atPath: kept.path) == webm)
                let digest = stimulus["sha256"] as? String ?? ""
                #expect(digest.count == 64 && digest.allSatisfy(\.isHexDigit), "the upload's SHA-256 is recorded: \(digest)")
            }
            let (_, secret) = try await fixture.store.createInvitation(study: fixture.study.id, stimulus: stimulusID, hours: 1, actor: "test")
            _ = try await fixture.store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
            try await client.execute(uri: "/p/\(secret)/stimulus", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "video/webm")
                #expect(Data(buffer: response.body) == webm)
            }
            // The folder may be shared by several servers: a file changed on it (same size) is not played.
            var damaged = webm
            damaged[1000] ^= 0xFF
            try damaged.write(to: kept)
            try await client.execute(uri: "/p/\(secret)/stimulus", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(ServerFixture.errorMessage(response.body) == "the stimulus video on the server is not the one uploaded")
            }
            try webm.write(to: kept)
            try await client.execute(uri: "/p/\(secret)/stimulus", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: uri.replacingOccurrences(of: "Teaser", with: "Text"), method: .post, headers: fixture.auth,
                                     body: ByteBuffer(string: "not a video")) { #expect($0.status == .unsupportedMediaType) }
            try await client.execute(uri: uri.replacingOccurrences(of: "Teaser", with: "Huge"), method: .post, headers: fixture.auth,
                                     body: ByteBuffer(bytes: Data([0x1A, 0x45, 0xDF, 0xA3]) + Data(count: 100_000))) {
                #expect($0.status == .contentTooLarge)
            }
            try await client.execute(uri: uri, method: .post, headers: fixture.analyst, body: ByteBuffer(bytes: webm)) {
                #expect($0.status == .forbidden)
            }
            let stored = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.appendingPathComponent("stimuli").path)
            #expect(stored.count == 1, "refused uploads leave no file behind: \(stored)")
            #expect(try await fixture.store.stimuli(study: fixture.study.id).map(\.name).sorted() == ["Cut", "Cut", "Teaser"])
        }
    }
}
