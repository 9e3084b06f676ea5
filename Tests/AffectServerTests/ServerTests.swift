import AffectCore
import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The HTTP API over a real SQLite store, through a real socket on 127.0.0.1.
@Suite struct ServerTests {
    struct Fixture: Sendable {
        let store: PrivacyStore
        let admin: String
        let analyst: String
        /// The analyst token's id: studies are given to it by id.
        let analystID: String
        let directory: URL
    }

    func withServer(_ body: @escaping @Sendable (any TestClientProtocol, Fixture) async throws -> Void) async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let admin = try await store.createToken(name: "admin", role: .admin, actor: "test").secret
        let (analystToken, analyst) = try await store.createToken(name: "ana", role: .analyst, actor: "test")
        let app = buildApplication(configuration: .init(host: "127.0.0.1", port: 0), store: store)
        try await app.test(.live) { client in
            try await body(client, Fixture(store: store, admin: admin, analyst: analyst, analystID: analystToken.id, directory: directory))
        }
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8)) as? [String: Any])
    }

    let trailer = #"{"name": "Trailer", "purpose": "Which cut holds attention", "context": "media-research", "mode": "aggregate", "retention_days": 14}"#

    @Test func healthReadinessAndMetrics() async throws {
        try await withServer { client, _ in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect(String(buffer: $0.body) == "ready\n") }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("affect_ladder_step"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"openapi\": \"3.1.0\""))
            }
        }
    }

    @Test func everyAPIRouteNeedsAToken() async throws {
        try await withServer { client, fixture in
            try await client.execute(uri: "/api/v1/studies", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/studies", method: .get,
                                     headers: [.authorization: "Bearer afk_" + String(repeating: "0", count: 64)]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: [.authorization: "Bearer \(fixture.analyst)"],
                                     body: ByteBuffer(string: trailer)) {
                #expect($0.status == .forbidden, "analysts read, admins create")
            }
            #expect(try await fixture.store.studies().isEmpty)
        }
    }

    @Test func adminsCreateStudiesAndTheGuardStillApplies() async throws {
        try await withServer { client, fixture in
            let auth: HTTPFields = [.authorization: "Bearer \(fixture.admin)"]
            var id = ""
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: trailer)) { response in
                #expect(response.status == .created)
                let study = try Self.json(response.body)
                id = study["id"] as? String ?? ""
                let definition = study["definition"] as? [String: Any]
                #expect(definition?["retention_days"] as? Int == 14, "snake_case JSON")
                #expect(definition?["mode"] as? String == "aggregate")
            }
            // An analyst reaches the studies given to it, and only those (an unknown one, for all it can tell).
            try await client.execute(uri: "/api/v1/studies/\(id)", method: .get, headers: [.authorization: "Bearer \(fixture.analyst)"]) {
                #expect($0.status == .notFound)
            }
            try await fixture.store.grantAccess(study: id, to: fixture.analystID, actor: "test")
            try await client.execute(uri: "/api/v1/studies/\(id)", method: .get, headers: [.authorization: "Bearer \(fixture.analyst)"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/v1/studies/\(id)/notice", method: .get, headers: auth) {
                #expect(String(buffer: $0.body).contains("emotion recognition system"))
            }
            let workplace = #"{"name": "Staff", "purpose": "mood", "context": "workplace"}"#
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: workplace)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("EU AI Act Art. 5(1)(f)"))
            }
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: trailer)) {
                #expect($0.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: "{\"name\": ")) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/studies/nope", method: .get, headers: auth) { #expect($0.status == .notFound) }
            #expect(try await fixture.store.studies().count == 1)
            let created = try await fixture.store.auditEvents().filter { $0.action == "study.create" }
            #expect(created.count == 1 && created.last?.actor == "api:admin")
            #expect(try await fixture.store.auditEvents().last?.action == "study.share", "the study given to the analyst, audited")
        }
    }

    @Test func participantLinksAreSingleUseExpiringAndNeedExplicitConsent() async throws {
        try await withServer { client, fixture in
            let auth: HTTPFields = [.authorization: "Bearer \(fixture.admin)"]
            var studyID = ""
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: trailer)) {
                studyID = try Self.json($0.body)["id"] as? String ?? ""
            }
            func invite() async throws -> String {
                try await client.execute(uri: "/api/v1/studies/\(studyID)/invitations", method: .post, headers: auth,
                                         body: ByteBuffer(string: #"{"hours": 1}"#)) { response in
                    #expect(response.status == .created)
                    return try Self.json(response.body)["path"] as? String ?? ""
                }
            }
            let link = try await invite()
            #expect(link.hasPrefix("/p/"))
            try await client.execute(uri: link + "/briefing", method: .get) { response in
                #expect(response.status == .ok)
                let briefing = try Self.json(response.body)
                #expect((briefing["notice"] as? String)?.contains("only averages over 10-second windows") == true)
                #expect((briefing["expressions"] as? [String])?.count == 7)
            }
            try await client.execute(uri: link + "/consent", method: .post, body: ByteBuffer(string: #"{"agreed": false}"#)) {
                #expect($0.status == .badRequest, "no consent without agreeing")
            }
            var participant = ""
            try await client.execute(uri: link + "/consent", method: .post,
                                     body: ByteBuffer(string: #"{"agreed": true, "excluded_emotions": ["sad"], "segment": {"age": "25-34"}}"#)) {
                response in
                #expect(response.status == .created)
                participant = try Self.json(response.body)["participant_id"] as? String ?? ""
            }
            let export = try await fixture.store.exportSubject(participant: participant, actor: "test")
            #expect(export.participant.excludedEmotions == [.sad] && export.participant.segment == ["age": "25-34"])
            #expect(export.consents.first?.purposes == ["expression-analysis", "segment-attributes"])
            try await client.execute(uri: link + "/consent", method: .post, body: ByteBuffer(string: #"{"agreed": true}"#)) { response in
                #expect(response.status == .gone)
                #expect(String(buffer: response.body).contains("already been used"))
            }
            let expiring = try await invite()
            try await fixture.store.database.transaction { try await $0.execute("UPDATE invitations SET expires_at = 0 WHERE used_at IS NULL") }
            try await client.execute(uri: expiring + "/briefing", method: .get) { response in
                #expect(response.status == .gone && String(buffer: response.body).contains("expired"))
            }
            try await client.execute(uri: "/p/" + String(repeating: "a", count: 48) + "/briefing", method: .get) {
                #expect($0.status == .notFound, "an unknown link is not one that was used up")
            }
            #expect(try await fixture.store.studies().count == 1)
        }
    }

    @Test func malformedJSONIsABadRequestAndChangesNothing() async throws {
        try await withServer { client, fixture in
            let auth: HTTPFields = [.authorization: "Bearer \(fixture.admin)"]
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: #"{"name": "Trailer", "#)) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/studies", method: .post, headers: auth, body: ByteBuffer(string: #"{"name": 7}"#)) {
                #expect($0.status == .badRequest, "wrong types too")
            }
            #expect(try await fixture.store.studies().isEmpty)
            let study = try await fixture.store.createStudy(
                StudyDefinition(name: "T", purpose: "p", context: .mediaResearch), actor: "test")
            try await client.execute(uri: "/api/v1/studies/\(study.id)/stimuli", method: .post, headers: auth,
                                     body: ByteBuffer(string: "not json")) { #expect($0.status == .badRequest) }
            let (_, secret) = try await fixture.store.createInvitation(study: study.id, hours: 1, actor: "test")
            try await client.execute(uri: "/p/\(secret)/consent", method: .post, body: ByteBuffer(string: "{agreed: true}")) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/p/\(secret)/briefing", method: .get) { #expect($0.status == .ok, "the link is still unused") }
            #expect(try await fixture.store.stimuli(study: study.id).isEmpty)
        }
    }

    @Test func pagesAndTheirScriptsAreServed() async throws {
        try await withServer { client, fixture in
            // The dashboard is the console's live page now: its old address leads there, through sign-in.
            try await client.execute(uri: "/dashboard", method: .get) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/live")
            }
            try await client.execute(uri: "/live", method: .get) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/sign-in?next=/live")
            }
            try await client.execute(uri: "/live", method: .get, headers: [.authorization: "Bearer \(fixture.admin)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(String(buffer: response.body).contains("/static/timeline-chart.js"))
            }
            try await client.execute(uri: "/p/" + String(repeating: "ab", count: 24), method: .get) { response in
                #expect(response.status == .ok, "the page itself holds nothing; its API calls check the link")
                #expect(String(buffer: response.body).contains("/static/participant.js"))
            }
            for script in ["timeline-chart.js", "participant.js", "dashboard.js", "affect.css", "console.css", "console.js"] {
                try await client.execute(uri: "/static/\(script)", method: .get) { #expect($0.status == .ok, "\(script)") }
            }
        }
    }
}

/// P11: a server other machines can reach over plain HTTP says at start that their browsers will not
/// give the participant page a camera (no socket is opened beyond 127.0.0.1 here: the rule is the
/// configuration's).
@Suite struct PlainHTTPWarningTests {
    @Test func warnsOnlyWhenReachableBeyondLoopbackWithoutHTTPS() {
        for host in ["127.0.0.1", "127.0.1.1", "localhost", "::1"] {
            #expect(ServerConfiguration(host: host).plainHTTPWarning == nil, "\(host)")
        }
        for host in ["0.0.0.0", "192.168.1.20", "::", "study.example.org"] {
            let warning = ServerConfiguration(host: host).plainHTTPWarning
            #expect(warning?.contains("listening on \(host) over plain HTTP") == true, "\(host)")
            #expect(warning?.contains("https://") == true)
        }
        var proxied = ServerConfiguration(host: "0.0.0.0")
        proxied.secureCookies = true
        #expect(proxied.plainHTTPWarning == nil, "declared behind HTTPS")
        var behindProxy = ServerConfiguration(host: "0.0.0.0")
        behindProxy.trustedProxies = [AddressRange("10.0.0.0/8")].compactMap { $0 }
        #expect(behindProxy.plainHTTPWarning == nil, "a trusted proxy is there to terminate TLS")
        #expect(ServerConfiguration(host: "0.0.0.0").plainHTTPWarning?.contains("--tls-cert") == true, "the warning names the way out")
    }
}
