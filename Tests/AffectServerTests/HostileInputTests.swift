import AffectCore
@testable import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The server tried as an attacker (or a careless user) would, on both backends: each test is one
/// finding of P6 that main at 4d7ec8b failed.
@Suite struct HostileInputTests {
    static let study = #"{"name": "Trailer", "purpose": "Which cut holds attention", "context": "media-research"}"#

    static func createStudy(_ client: any TestClientProtocol, _ fixture: ServerFixture) async throws -> String {
        try await client.execute(uri: "/api/v1/studies", method: .post, headers: fixture.admin, body: ByteBuffer(string: study)) {
            #expect($0.status == .created)
            return try ServerFixture.json($0.body)["id"] as? String ?? ""
        }
    }

    /// A participant link for `stimulus` with consent given through it.
    static func consentedLink(_ store: PrivacyStore, study: String, stimulus: String? = nil) async throws -> String {
        let (_, secret) = try await store.createInvitation(study: study, stimulus: stimulus, hours: 1, actor: "test")
        _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
        return secret
    }

    /// The server refuses exactly what its OpenAPI document calls invalid: the document's pattern is
    /// the one the store checks, and addresses on both sides of it are judged as the document says.
    @Test func webAddressGrammarIsTheDocuments() throws {
        let document = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]
        let schemas = (document?["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let patterns = schemas?.values.compactMap { schema -> String? in
            (((schema as? [String: Any])?["properties"] as? [String: Any])?["source"] as? [String: Any])?["pattern"] as? String
        } ?? []
        #expect(patterns == [StimulusSource.webAddressPattern])
        for accepted in ["https://cdn.example/cut-a.mp4", "HTTP://10.0.0.7:8080/", "https://cdn.example",
                         "https://cdn.example/a%20b.mp4?sig=x&exp=17", "https://a-b.example/@v/(1).webm?q=/?"] {
            #expect(throws: Never.self, "\(accepted)") { try StimulusSource(webAddress: accepted) }
        }
        #expect(throws: StimulusSource.Refusal.credentials) { try StimulusSource(webAddress: "https://u:p@cdn.example/") }
        #expect(throws: StimulusSource.Refusal.notWebAddress) { try StimulusSource(webAddress: "https://cdn.example/a.mp4\n") }
    }

    /// Finding 1: a stimulus source that names a server file answered 201, and the participant link then sent the file.
    @Test(arguments: TestDatabase.Backend.available)
    func serverFilesAreNeverStimuli(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let study = try await Self.createStudy(client, fixture)
            let databaseFile = fixture.dataDirectory.appendingPathComponent("affect.sqlite").path
            let sources = ["/etc/passwd", "../../../../etc/passwd", databaseFile, "file:///etc/passwd", "upload:../affect.sqlite",
                           "upload:E621E1F8-C36C-495A-93FC-0C247A3E6E5F.mp4", "retired:server-path", "https://user:pw@cdn.example/a.mp4",
                           "https://", "javascript:alert(1)", "https://cdn.example/a b.mp4", "https://cdn.example/" + String(repeating: "a", count: 3000),
                           // Hosts URLComponents let through (schemathesis found the first): the document's grammar refuses them.
                           "HtTP://A.Xb.2K6V*", "https://-cdn.example/a.mp4", "https://cdn..example/", "https://cdn.example/a%zz.mp4",
                           "https://cdn.example/a.mp4#t=5", "https://cdn.example:123456/"]
            for (index, source) in sources.enumerated() {
                let body = try JSONSerialization.data(withJSONObject: ["name": "Cut \(index)", "source": source])
                try await client.execute(uri: "/api/v1/studies/\(study)/stimuli", method: .post, headers: fixture.admin,
                                         body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == .unprocessableContent, "\(source)")
                    if source.count > 12 { #expect(!String(buffer: response.body).contains(source), "the refusal does not echo the source") }
                }
            }
            #expect(try await fixture.store.stimuli(study: study).isEmpty)

            // A web address is stored as given and the link redirects to it.
            let body = #"{"name": "Cut", "variant": "A", "source": "https://cdn.example/cut-a.mp4"}"#
            let stimulus = try await client.execute(uri: "/api/v1/studies/\(study)/stimuli", method: .post, headers: fixture.admin,
                                                    body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created)
                return try ServerFixture.json(response.body)["id"] as? String ?? ""
            }
            let secret = try await Self.consentedLink(fixture.store, study: study, stimulus: stimulus)
            try await client.execute(uri: "/p/\(secret)/stimulus", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "https://cdn.example/cut-a.mp4")
            }
        }
    }

    /// Finding 1, for databases written before: a path stored as a stimulus is retired by migration 13 and
    /// never served; an upload the server itself made keeps working under its new name.
    @Test(arguments: TestDatabase.Backend.available)
    func pathsStoredBeforeAreRetired(_ backend: TestDatabase.Backend) async throws {
        let database = try TestDatabase.make(backend)
        defer { database.drop() }
        let uploads = database.directory.appendingPathComponent("stimuli")
        try FileManager.default.createDirectory(at: uploads, withIntermediateDirectories: true)
        let uploaded = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F.webm"
        let video = Data([0x1A, 0x45, 0xDF, 0xA3]) + Data(repeating: 7, count: 1000)
        try video.write(to: uploads.appendingPathComponent(uploaded))
        var secrets: [String: String] = [:]
        do {
            let store = try await database.open()
            let study = try await store.createStudy(StudyDefinition(name: "Old", purpose: "Which cut works", context: .mediaResearch),
                                                    actor: "test")
            // What an earlier Affect stored: any path, and the server's own upload path.
            for (name, path) in [("Passwd", "/etc/passwd"), ("Database", database.directory.appendingPathComponent("affect.sqlite").path),
                                 ("Upload", uploads.appendingPathComponent(uploaded).path), ("Web", "https://cdn.example/w.mp4")] {
                let stimulus = try await store.addStimulus(study: study.id, name: name, variant: "A",
                                                           source: .url("https://placeholder.example/"), actor: "test")
                try await store.database.transaction { transaction in
                    try await transaction.execute("UPDATE stimuli SET source = ? WHERE id = ?", [.text(path), .text(stimulus.id)])
                    try await transaction.execute("DELETE FROM schema_migrations WHERE version = 13")
                }
                secrets[name] = try await Self.consentedLink(store, study: study.id, stimulus: stimulus.id)
            }
            try await store.close()
        }
        let store = try await database.open()
        #expect(try await store.retiredStimulusCount() == 2)
        let sources = Dictionary(uniqueKeysWithValues: try await store.stimuli(study: "Old").map { ($0.name, $0.source) })
        #expect(sources["Passwd"] == .retiredPath)
        #expect(sources["Database"] == .retiredPath)
        #expect(sources["Upload"] == .upload(file: uploaded))
        #expect(sources["Web"] == .url("https://cdn.example/w.mp4"))
        let configuration = ServerConfiguration(host: "127.0.0.1", port: 0, stimulusDirectory: uploads.path)
        let links = secrets
        try await buildApplication(configuration: configuration, store: store).test(.live) { client in
            for name in ["Passwd", "Database"] {
                try await client.execute(uri: "/p/\(links[name] ?? "")/stimulus", method: .get) { response in
                    #expect(response.status == .gone, "\(name)")
                    #expect(!String(buffer: response.body).contains("root:"))
                }
            }
            try await client.execute(uri: "/p/\(links["Upload"] ?? "")/stimulus", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Data(buffer: response.body) == video)
            }
        }
        try await store.close()
    }

    /// Finding 6: names took NUL (PostgreSQL then answered 503 with its socket path), a megabyte,
    /// control, bidi and ANSI characters; k took 2^62, a link 1e-9 hours; a study could take another's id
    /// as its name. Every refusal is a 4xx with a fixed message; a failure says only a request id.
    @Test(arguments: TestDatabase.Backend.available)
    func namesAndNumbersAreCheckedAndBackendTextNeverReachesAClient(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let backendWords = ["/tmp", "postgres", "sqlite", "affect_t", "SELECT", "column", "socket", ".s.PGSQL"]
            func post(_ path: String, _ object: [String: Any], expect status: HTTPResponse.Status) async throws -> String {
                let body = try JSONSerialization.data(withJSONObject: object)
                return try await client.execute(uri: path, method: .post, headers: fixture.admin, body: ByteBuffer(bytes: body)) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == status, "\(path): \(text.prefix(200))")
                    for word in backendWords { #expect(!text.contains(word), "\(word) in \(text.prefix(200))") }
                    return text
                }
            }
            let base: [String: Any] = ["purpose": "Which cut holds attention", "context": "media-research"]
            for name in ["Trailer\u{0}", String(repeating: "n", count: 201), "\u{1B}[2J\u{1B}[31mred", "abc\u{202E}gpj.exe", "two\nlines", " "] {
                _ = try await post("/api/v1/studies", base.merging(["name": name]) { $1 }, expect: .unprocessableContent)
            }
            _ = try await post("/api/v1/studies", base.merging(["name": String(repeating: "n", count: 1 << 20)]) { $1 },
                               expect: .contentTooLarge)
            _ = try await post("/api/v1/studies", base.merging(["name": "Trailer", "purpose": "bell\u{7}"]) { $1 }, expect: .unprocessableContent)
            _ = try await post("/api/v1/studies", base.merging(["name": "Trailer", "k": 1 << 62]) { $1 }, expect: .unprocessableContent)
            _ = try await post("/api/v1/studies", base.merging(["name": "Trailer", "retention_days": -1]) { $1 }, expect: .unprocessableContent)
            _ = try await post("/api/v1/studies", base.merging(["name": "Trailer", "context": "no-such-context"]) { $1 }, expect: .badRequest)
            let created = try await post("/api/v1/studies", base.merging(["name": "Trailer"]) { $1 }, expect: .created)
            let study = try #require(try ServerFixture.json(ByteBuffer(string: created))["id"] as? String)
            // Another study named like this one's id would make `GET /studies/ID` ambiguous.
            _ = try await post("/api/v1/studies", base.merging(["name": study]) { $1 }, expect: .unprocessableContent)
            _ = try await post("/api/v1/studies", base.merging(["name": "st_00000000000000aa"]) { $1 }, expect: .unprocessableContent)
            for hours in [1e-9, 0, -5, 1e9] {
                _ = try await post("/api/v1/studies/\(study)/invitations", ["hours": hours], expect: .unprocessableContent)
            }
            _ = try await post("/api/v1/studies/\(study)/invitations", ["hours": 1.0 / 60], expect: .created)
            try await client.execute(uri: "/api/v1/studies/Trailer%00", method: .get, headers: fixture.admin) { response in
                #expect((400..<500).contains(response.status.code))
                for word in backendWords { #expect(!String(buffer: response.body).contains(word)) }
            }
            try await client.execute(uri: "/api/v1/studies/\(String(repeating: "x", count: 5000))", method: .get, headers: fixture.admin) {
                #expect($0.status == .notFound)
                #expect(ServerFixture.errorMessage($0.body) == "no such study", "404s do not echo the reference")
            }

            // A failure the caller did not cause: a corrupt row. Logged with a request id; the client sees only the id.
            try await fixture.store.database.transaction { transaction in
                try await transaction.execute("UPDATE studies SET mode = 'bogus' WHERE id = ?", [.text(study)])
            }
            try await client.execute(uri: "/api/v1/studies", method: .get, headers: fixture.admin) { response in
                #expect(response.status == .internalServerError)
                let message = ServerFixture.errorMessage(response.body)
                #expect(message.hasPrefix("the server could not complete this request (request id "), "\(message)")
                for word in backendWords + ["mode", "corrupt"] { #expect(!message.contains(word)) }
            }
            // The database fails under the server (a table gone): 503, with nothing about the database.
            try await fixture.store.database.transaction { transaction in
                try await transaction.execute("ALTER TABLE studies RENAME TO studies_gone")
            }
            try await client.execute(uri: "/api/v1/studies", method: .get, headers: fixture.admin) { response in
                #expect(response.status == .serviceUnavailable)
                let message = ServerFixture.errorMessage(response.body)
                #expect(message.hasPrefix("the database did not answer; try again (request id "), "\(message)")
                for word in backendWords + ["studies", "relation", "table"] { #expect(!message.contains(word)) }
            }
        }
    }

    /// Schemathesis found a reviewer token given a study reference with a NUL in it answered 422 from the
    /// database's text check, which the document did not allow for. Control characters in a study reference
    /// are now refused before anything is written, for every role (an admin token's references are not even
    /// used), and the document says so.
    @Test func tokenStudyReferencesCarryNoControlCharacters() async throws {
        try await ServerFixture.run(.sqlite) { client, fixture in
            var headers = fixture.admin
            headers[.contentType] = "application/json"
            for role in ["admin", "reviewer"] {
                for reference in ["ab\u{0}", "a\u{1B}[31m", "line\nbreak"] {
                    let body = try JSONSerialization.data(withJSONObject: ["role": role, "studies": [reference]])
                    try await client.execute(uri: "/api/v1/tokens", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                        #expect(response.status == .unprocessableContent, "\(role) \(reference.debugDescription): \(response.status)")
                        #expect(ServerFixture.errorMessage(response.body) == "a token may be given at most 1000 studies, each an id or a name")
                    }
                }
            }
            #expect(try await fixture.store.tokens().count == 2, "no token was made")
        }
    }
}
