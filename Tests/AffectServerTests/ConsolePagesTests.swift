@testable import AffectServer
import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The console's forms that the browser test does not reach, through the real server with a signed-in
/// researcher: links as CSV and revoked, a release confirmed before it spends, subject export and
/// deletion, and each researcher seeing only their own studies.
@Suite struct ConsolePagesTests {
    typealias Session = ConsoleSessionTests

    @Test(arguments: TestDatabase.Backend.available)
    func aResearchersStudyFromLinksToSubjectRights(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            let store = fixture.store
            for name in ["rita", "ruth"] {
                _ = try await store.addUser(name: name, role: .researcher, password: Session.password, actor: "test")
            }
            let (cookie, csrf) = try #require(try await Session.signIn(port, "rita"))
            let signedIn = ["Cookie: \(cookie)"]
            func post(_ path: String, _ form: String) async throws -> (status: Int, head: String, body: String) {
                try await Session.exchange(port, "POST", path, headers: signedIn, body: "_csrf=\(csrf)&" + form)
            }

            // Her study, with a budget; the other researcher does not see it.
            let created = try await post("/studies", "name=Panel&purpose=Which+ending+works&context=market-research&retention=30&k=2&budget=1")
            #expect(created.status == 303)
            let study = try #require(created.head.components(separatedBy: "Location: /studies/").last?.components(separatedBy: "\r\n").first)
            #expect(try await Session.exchange(port, "GET", "/studies", headers: signedIn).body.contains("Panel"))
            let (other, _) = try #require(try await Session.signIn(port, "ruth"))
            #expect(!(try await Session.exchange(port, "GET", "/studies", headers: ["Cookie: \(other)"]).body.contains("Panel")))
            #expect(try await Session.exchange(port, "GET", "/studies/\(study)", headers: ["Cookie: \(other)"]).status == 404)

            // Links as CSV: each one works; a revoked one stops and shows as revoked.
            let csv = try await post("/studies/\(study)/links", "count=3&hours=2&stimulus=&format=csv")
            #expect(csv.status == 200 && csv.head.contains("text/csv") && csv.head.contains("attachment"))
            let links = csv.body.split(separator: "\n").dropFirst().map(String.init)
            #expect(links.count == 3 && links.allSatisfy { $0.hasPrefix("http://127.0.0.1:\(port)/p/") }, "\(links)")
            let secrets = links.compactMap { $0.components(separatedBy: "/p/").last }
            for secret in secrets {
                #expect(try await Session.exchange(port, "GET", "/p/\(secret)/briefing").status == 200)
            }
            let invitation = try #require(try await store.linkStatuses(study: study).first?.invitation.id)
            #expect(try await post("/studies/\(study)/links/\(invitation)/revoke", "").status == 303)
            #expect(try await store.linkStatuses(study: study).first?.state == .revoked)
            let page = try await Session.exchange(port, "GET", "/studies/\(study)", headers: signedIn)
            #expect(page.body.contains("1 revoked, 2 unused"), "the study page counts the links by state")

            // A release: the confirmation shows the ε left and spends nothing; an unconfirmed post spends nothing.
            let confirm = try await Session.exchange(port, "GET", "/studies/\(study)/releases/confirm?segment_by=age&epsilon=0.4", headers: signedIn)
            #expect(confirm.status == 200 && confirm.body.contains("ε 1.00") && confirm.body.contains("ε 0.60"), "\(confirm.body.suffix(800))")
            #expect(try await post("/studies/\(study)/releases", "segment_by=age&epsilon=0.4&key=k1").status == 422)
            let released = try await post("/studies/\(study)/releases", "segment_by=age&epsilon=0.4&key=k1&confirmed=yes")
            #expect(released.status == 200 && released.body.contains("no ε spent"), "nothing to publish, nothing spent")
            #expect(try await store.privacyBudget(study: study)?.spent == 0)

            // Subject rights: found, exported (audited), kept on a wrong confirmation, deleted on the right one.
            let (participant, _, _) = try await store.consent(throughInvitation: secrets[1], purposes: [Consent.analysisPurpose],
                                                               excludedEmotions: [], segment: nil)
            let found = try await Session.exchange(port, "GET", "/subjects?participant=\(participant.id)", headers: signedIn)
            #expect(found.body.contains("id=\"found\"") && found.body.contains("Panel"))
            #expect(!(try await Session.exchange(port, "GET", "/subjects?participant=\(participant.id)", headers: ["Cookie: \(other)"])
                .body.contains("id=\"found\"")), "another researcher's participant is not found")
            let export = try await post("/subjects/\(participant.id)/export", "")
            #expect(export.status == 200 && export.head.contains("attachment") && export.body.contains(participant.id))
            #expect(try await store.auditEvents().contains { $0.action == "subject.export" && $0.actor == "user:rita" })
            #expect(try await post("/subjects/\(participant.id)/delete", "confirm=p_nope").status == 422)
            #expect(try await store.subjectSummary(participant: participant.id).participant.id == participant.id, "kept")
            let deleted = try await post("/subjects/\(participant.id)/delete", "confirm=\(participant.id)")
            #expect(deleted.status == 303 && deleted.head.contains("/subjects?deleted=\(participant.id)"))
            await #expect(throws: StoreError.self) { try await store.subjectSummary(participant: participant.id) }
        }
    }
}
