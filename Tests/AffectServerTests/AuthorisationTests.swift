@testable import AffectServer
import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Who may call what: every route the server registers, called by every kind of caller, through the
/// real server. A route added without a row here fails the test, so access is decided, not inherited.
@Suite struct AuthorisationTests {
    /// Who a route is for.
    enum Access: CustomStringConvertible {
        /// Anyone (health, metrics, the API document, the pages' HTML).
        case everyone
        /// Whoever holds the participant link in the path; any other link is unknown (404).
        case link
        /// API tokens of the admin or analyst role.
        case readers
        /// API tokens of the admin role only.
        case admins

        var description: String { "\(self)" }
    }

    /// Every route, with its access. Keep in step with the controllers: a missing row fails the test.
    static let table: [Route: Access] = [
        Route(method: "GET", path: "/healthz"): .everyone,
        Route(method: "GET", path: "/readyz"): .everyone,
        Route(method: "GET", path: "/metrics"): .everyone,
        Route(method: "GET", path: "/openapi.json"): .everyone,
        Route(method: "GET", path: "/dashboard"): .everyone,
        Route(method: "GET", path: "/p/{secret}"): .everyone,
        Route(method: "GET", path: "/p/{secret}/briefing"): .link,
        Route(method: "POST", path: "/p/{secret}/consent"): .link,
        Route(method: "GET", path: "/p/{secret}/ws"): .link,
        Route(method: "GET", path: "/p/{secret}/stimulus"): .link,
        Route(method: "POST", path: "/p/{secret}/withdraw"): .link,
        Route(method: "GET", path: "/api/v1/studies"): .readers,
        Route(method: "POST", path: "/api/v1/studies"): .admins,
        Route(method: "GET", path: "/api/v1/studies/{study}"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/notice"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/stimuli"): .readers,
        Route(method: "POST", path: "/api/v1/studies/{study}/stimuli"): .admins,
        Route(method: "POST", path: "/api/v1/studies/{study}/stimuli/upload"): .admins,
        Route(method: "POST", path: "/api/v1/studies/{study}/invitations"): .admins,
        Route(method: "GET", path: "/api/v1/studies/{study}/sessions"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/results"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/report"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/moments"): .readers,
        Route(method: "GET", path: "/api/v1/studies/{study}/audience-moments"): .readers,
        Route(method: "POST", path: "/api/v1/studies/{study}/audience-moments"): .readers,
        Route(method: "POST", path: "/api/v1/studies/{study}/releases"): .admins,
        Route(method: "POST", path: "/api/v1/studies/{study}/audience-moments/{moment}"): .readers,
        Route(method: "GET", path: "/api/v1/live"): .readers,
        Route(method: "GET", path: "/api/v1/live/events"): .readers,
        Route(method: "GET", path: "/api/v1/nodes"): .admins,
    ]

    enum Caller: String, CaseIterable {
        case anonymous, wrongToken, participant, analyst, admin
    }

    @Test func everyRouteHasARow() async throws {
        let database = try TestDatabase.make(.sqlite)
        defer { database.drop() }
        let store = try await database.open()
        let catalog = RouteCatalog()
        let capture = CaptureService(engine: nil, store: store, feed: LiveFeed(), provenance: .init(models: [:], configuration: [:]))
        _ = buildRouter(store: store, metrics: .init(), capture: capture, pages: .bundled(), catalog: catalog)
        #expect(catalog.routes.subtracting(Self.table.keys).sorted() == [], "routes without a row in the access table")
        #expect(Set(Self.table.keys).subtracting(catalog.routes).sorted() == [], "rows for routes that do not exist")
        try await store.close()
    }

    @Test func everyCallerGetsWhatItsRoleAllows() async throws {
        try await ServerFixture.run(.sqlite) { client, fixture in
            let study = try await fixture.store.createStudy(
                StudyDefinition(name: "Access", purpose: "Who may call what", context: .mediaResearch), actor: "test")
            let stimulus = try await fixture.store.addStimulus(study: study.id, name: "Cut", variant: "A",
                                                               source: .url("https://cdn.example/a.mp4"), actor: "test")
            let unknownLink = String(repeating: "ab", count: 24)
            let port = try #require(client.port)
            for (route, access) in Self.table.sorted(by: { $0.key < $1.key }) {
                for caller in Caller.allCases {
                    // The participant holds a link of their own: unconsented for the briefing and consent, consented otherwise.
                    let (_, fresh) = try await fixture.store.createInvitation(study: study.id, stimulus: stimulus.id, hours: 1, actor: "test")
                    if !route.path.hasSuffix("/briefing") && !route.path.hasSuffix("/consent") {
                        _ = try await fixture.store.consent(throughInvitation: fresh, purposes: [Consent.analysisPurpose],
                                                            excludedEmotions: [], segment: nil)
                    }
                    let secret = caller == .participant ? fresh : unknownLink
                    var authorization = ""
                    switch caller {
                    case .anonymous: break
                    case .wrongToken: authorization = "afk_" + String(repeating: "0", count: 64)
                    case .participant: authorization = fresh
                    case .analyst: authorization = fixture.analystToken
                    case .admin: authorization = fixture.adminToken
                    }
                    var path = route.path.replacingOccurrences(of: "{study}", with: study.id)
                        .replacingOccurrences(of: "{secret}", with: secret)
                        .replacingOccurrences(of: "{moment}", with: "am_0000000000000000")
                    if path.hasSuffix("/upload") { path += "?name=Clip" }
                    let body = route.method != "POST" ? "" : route.path.hasSuffix("/consent") ? #"{"agreed": true}"# : "{}"
                    let request = "\(route.method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        + (authorization.isEmpty ? "" : "Authorization: Bearer \(authorization)\r\n")
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
                    // The event stream never ends: the status line is enough.
                    let status = try await RawConnection.run {
                        let connection = try RawConnection(port: port)
                        connection.send(request)
                        return connection.readStatus()
                    }
                    let refused: Set<Int> = [401, 403, 404]
                    switch (access, caller) {
                    case (.everyone, _):
                        #expect(status < 400, "\(route) as \(caller): \(status)")
                    case (.link, .participant):
                        #expect(!refused.contains(status) && status != 410, "\(route) as \(caller): \(status)")
                    case (.link, _):
                        #expect(status == 404, "\(route) as \(caller): \(status) (an unknown link)")
                    case (.readers, .analyst), (.readers, .admin), (.admins, .admin):
                        #expect(!refused.contains(status), "\(route) as \(caller): \(status)")
                    case (.admins, .analyst):
                        #expect(status == 403, "\(route) as \(caller): \(status)")
                    case (.readers, _), (.admins, _):
                        #expect(status == 401, "\(route) as \(caller): \(status)")
                    }
                }
            }
        }
    }
}
