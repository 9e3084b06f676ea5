import AffectCore
import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// Single-use, budgets and unique names under concurrent requests through the real server, on both
/// backends: each test is one finding of P7 that main at 4d7ec8b failed on PostgreSQL (where a
/// check followed by a write lets every concurrent request pass the check).
@Suite struct ConcurrencyTests {
    /// Sends `count` copies of one request at once, each on its own connection and thread; returns
    /// the status codes.
    static func burst(port: Int, count: Int, method: String, path: String, token: String? = nil, body: String,
                      headers: [String: String] = [:]) async throws -> [Int] {
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "")
            + headers.map { "\($0.key): \($0.value)\r\n" }.joined()
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await RawConnection.run {
                        let connection = try RawConnection(port: port)
                        connection.send(request)
                        return RawConnection.parse(connection.readToEnd().bytes).status
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    static func count(_ store: PrivacyStore, _ sql: String, _ bindings: [SQLValue]) async throws -> Int {
        try await store.database.transaction { try await $0.query(sql, bindings).first?["n"].int ?? -1 }
    }

    /// Finding 1: 30 concurrent consents on one link enrolled 13, 6 and 20 participants on PostgreSQL.
    @Test(arguments: TestDatabase.Backend.available)
    func oneLinkEnrolsOneParticipant(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let study = try await fixture.store.createStudy(
                StudyDefinition(name: "Trailer", purpose: "Which cut holds attention", context: .mediaResearch), actor: "test")
            let (invitation, secret) = try await fixture.store.createInvitation(study: study.id, hours: 1, actor: "test")
            let statuses = try await Self.burst(port: try #require(client.port), count: 30, method: "POST",
                                                path: "/p/\(secret)/consent", body: #"{"agreed": true}"#)
            #expect(statuses.filter { $0 == 201 }.count == 1, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 410 }.count == 29, "the losers hear what a second click hears: \(statuses.sorted())")
            #expect(try await Self.count(fixture.store, "SELECT COUNT(*) AS n FROM participants WHERE study_id = ?", [.text(study.id)]) == 1)
            let link = try await fixture.store.participantLink(secret: secret)
            #expect(link.invitation.id == invitation.id, "the one participant is the link's, so they can withdraw from the page")
            #expect(try await Self.auditHolds(fixture.store))
        }
    }

    /// A study with a privacy budget of 1.0 and k = 2, with participants of these ages who watched its one stimulus.
    static func budgetedStudy(_ store: PrivacyStore, ages: [String]) async throws -> Study {
        let study = try await store.createStudy(
            StudyDefinition(name: "Ads", purpose: "Which cut works", context: .marketResearch, kAnonymity: 2, privacyBudget: 1.0),
            actor: "test")
        let cut = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://cdn.example/a.mp4"),
                                              actor: "test")
        for (index, age) in ages.enumerated() {
            try await StudyFixtures.participant(store, study: study, stimulus: cut, age: age, happy: 0.2 + 0.1 * Double(index))
        }
        return study
    }

    /// Finding 2: 30 concurrent releases of ε 0.1 on a budget of 1.0 spent 2.9 on PostgreSQL.
    @Test(arguments: TestDatabase.Backend.available)
    func concurrentReleasesNeverOverspend(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let study = try await Self.budgetedStudy(fixture.store, ages: ["25-34", "25-34", "35-44", "35-44"])
            let statuses = try await Self.burst(port: try #require(client.port), count: 30, method: "POST",
                                                path: "/api/v1/studies/\(study.id)/releases", token: fixture.adminToken,
                                                body: #"{"segment_by": "age", "epsilon": 0.1}"#)
            #expect(statuses.filter { $0 == 201 }.count == 10, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 403 }.count == 20, "refused with what is left: \(statuses.sorted())")
            let budget = try #require(try await fixture.store.privacyBudget(study: study.id))
            #expect(budget.spent <= 1.0 + 1e-9 && budget.releases == 10)
            #expect(try await Self.auditHolds(fixture.store))

            // An analyst may read but not spend; a retry with the same key spends nothing again.
            let analyst = try await Self.burst(port: try #require(client.port), count: 1, method: "POST",
                                               path: "/api/v1/studies/\(study.id)/releases", token: fixture.analystToken,
                                               body: #"{"segment_by": "age", "epsilon": 0.1}"#)
            #expect(analyst == [403])
        }
    }

    /// A retry of one release (the same Idempotency-Key), sent many times at once, spends once.
    @Test(arguments: TestDatabase.Backend.available)
    func retriesOfOneReleaseSpendOnce(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let study = try await Self.budgetedStudy(fixture.store, ages: ["25-34", "25-34"])
            let statuses = try await Self.burst(port: try #require(client.port), count: 10, method: "POST",
                                                path: "/api/v1/studies/\(study.id)/releases", token: fixture.adminToken,
                                                body: #"{"segment_by": "age", "epsilon": 0.3}"#, headers: ["Idempotency-Key": "run-7"])
            #expect(statuses.filter { $0 == 201 }.count == 1 && statuses.filter { $0 == 200 }.count == 9, "\(statuses.sorted())")
            #expect(abs((try await fixture.store.privacyBudget(study: study.id)?.spent ?? 0) - 0.3) < 1e-12)
        }
    }

    /// Ten concurrent creates of one study name: one 201, nine 409s.
    @Test(arguments: TestDatabase.Backend.available)
    func oneStudyPerName(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let statuses = try await Self.burst(
                port: try #require(client.port), count: 10, method: "POST", path: "/api/v1/studies", token: fixture.adminToken,
                body: #"{"name": "Trailer", "purpose": "Which cut holds attention", "context": "media-research"}"#)
            #expect(statuses.sorted() == [201] + Array(repeating: 409, count: 9), "\(statuses.sorted())")
            #expect(try await Self.count(fixture.store, "SELECT COUNT(*) AS n FROM studies WHERE name = ?", [.text("Trailer")]) == 1)
        }
    }

    static func auditHolds(_ store: PrivacyStore) async throws -> Bool {
        if case .intact = try await store.verifyAudit() { return true }
        return false
    }
}
