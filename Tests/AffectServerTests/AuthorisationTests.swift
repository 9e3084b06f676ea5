@testable import AffectServer
import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Who may call what: every route the server registers (API, console pages and forms, participant
/// links), called by every kind of caller, through the real server. A route added without a row here
/// fails the test, so access is decided, not inherited. Console routes are called with API tokens and
/// with a signed-in browser's cookie alike: one authorisation layer answers both.
@Suite struct AuthorisationTests {
    /// Who a route is for.
    enum Access {
        /// Anyone: authorisation refuses nobody (health, the API document, sign-in, setup).
        case everyone
        /// Whoever holds the participant link in the path; any other link is unknown (404).
        case link
        /// A person signed in with the console's cookie (an API token has no account page).
        case person
        /// Callers whose role has one of these permissions, anywhere.
        case anywhere([Permission])
        /// Callers whose role has one of these permissions, in the study of the path only.
        case inStudy([Permission])
    }

    /// Every route, with its access. Keep in step with the controllers: a missing row fails the test.
    static let table: [Route: Access] = {
        let read: [Permission] = [.readResults], run: [Permission] = [.runStudy], review: [Permission] = [.reviewMoments]
        let rows: [(String, String, Access)] = [
            ("GET", "/healthz", .everyone), ("GET", "/readyz", .everyone), ("GET", "/metrics", .everyone),
            ("GET", "/openapi.json", .everyone),
            ("GET", "/p/{secret}", .everyone), ("GET", "/p/{secret}/briefing", .link), ("POST", "/p/{secret}/consent", .link),
            ("GET", "/p/{secret}/ws", .link), ("GET", "/p/{secret}/stimulus", .link), ("POST", "/p/{secret}/withdraw", .link),
            // The API.
            ("GET", "/api/v1/studies", .anywhere(read + review)), ("POST", "/api/v1/studies", .anywhere([.createStudies])),
            ("GET", "/api/v1/studies/{study}", .inStudy(read + review)), ("GET", "/api/v1/studies/{study}/notice", .inStudy(read)),
            ("GET", "/api/v1/studies/{study}/stimuli", .inStudy(read + review)),
            ("POST", "/api/v1/studies/{study}/stimuli", .inStudy(run)), ("POST", "/api/v1/studies/{study}/stimuli/upload", .inStudy(run)),
            ("GET", "/api/v1/studies/{study}/invitations", .inStudy(run)), ("POST", "/api/v1/studies/{study}/invitations", .inStudy(run)),
            ("POST", "/api/v1/studies/{study}/invitations/{invitation}/revoke", .inStudy(run)),
            ("GET", "/api/v1/studies/{study}/access", .inStudy(run)), ("POST", "/api/v1/studies/{study}/access", .inStudy(run)),
            ("POST", "/api/v1/studies/{study}/access/{grantee}/revoke", .inStudy(run)),
            ("GET", "/api/v1/studies/{study}/sessions", .inStudy(read)), ("GET", "/api/v1/studies/{study}/results", .inStudy(read)),
            ("GET", "/api/v1/studies/{study}/report", .inStudy(read)), ("GET", "/api/v1/studies/{study}/moments", .inStudy(read)),
            ("GET", "/api/v1/studies/{study}/audience-moments", .inStudy(read + review)),
            ("POST", "/api/v1/studies/{study}/audience-moments", .inStudy(run + review)),
            ("POST", "/api/v1/studies/{study}/audience-moments/{moment}", .inStudy(review)),
            ("POST", "/api/v1/studies/{study}/releases", .inStudy(run)),
            ("GET", "/api/v1/live", .anywhere(read)), ("GET", "/api/v1/live/events", .anywhere(read)),
            ("GET", "/api/v1/nodes", .anywhere([.administer])),
            ("GET", "/api/v1/tokens", .anywhere([.administer])), ("POST", "/api/v1/tokens", .anywhere([.administer])),
            ("POST", "/api/v1/tokens/{token}/revoke", .anywhere([.administer])),
            ("GET", "/api/v1/users", .anywhere([.administer])), ("POST", "/api/v1/users", .anywhere([.administer])),
            ("POST", "/api/v1/users/{user}/disable", .anywhere([.administer])),
            // The console.
            ("GET", "/", .everyone), ("GET", "/sign-in", .everyone), ("POST", "/sign-in", .everyone), ("POST", "/sign-out", .everyone),
            ("GET", "/setup/{secret}", .everyone), ("POST", "/setup/{secret}", .everyone), ("GET", "/dashboard", .everyone),
            ("GET", "/account", .person), ("POST", "/account/password", .person),
            ("GET", "/studies", .anywhere(read + review)), ("GET", "/studies/new", .anywhere([.createStudies])),
            ("POST", "/studies/preview", .anywhere([.createStudies])), ("POST", "/studies", .anywhere([.createStudies])),
            ("GET", "/studies/{study}", .inStudy(read + review)),
            ("POST", "/studies/{study}/links", .inStudy(run)), ("POST", "/studies/{study}/links/{invitation}/revoke", .inStudy(run)),
            ("POST", "/studies/{study}/access", .inStudy(run)), ("POST", "/studies/{study}/access/{grantee}/revoke", .inStudy(run)),
            ("GET", "/studies/{study}/results", .inStudy(read)), ("GET", "/studies/{study}/report", .inStudy(read)),
            ("GET", "/studies/{study}/releases/confirm", .inStudy(run)), ("POST", "/studies/{study}/releases", .inStudy(run)),
            ("GET", "/studies/{study}/moments", .inStudy(review)), ("POST", "/studies/{study}/moments/find", .inStudy(run + review)),
            ("POST", "/studies/{study}/moments/{moment}", .inStudy(review)),
            ("GET", "/studies/{study}/stimuli/{stimulus}/media", .inStudy(read + review + run)),
            ("GET", "/live", .anywhere(read)), ("GET", "/subjects", .anywhere(run)),
            // A participant belongs to a study: another study's is answered as unknown.
            ("POST", "/subjects/{participant}/export", .inStudy(run)), ("POST", "/subjects/{participant}/delete", .inStudy(run)),
            ("GET", "/users", .anywhere([.administer])), ("POST", "/users", .anywhere([.administer])),
            ("POST", "/users/{user}/disable", .anywhere([.administer])),
            ("GET", "/tokens", .anywhere([.administer])), ("POST", "/tokens", .anywhere([.administer])),
            ("POST", "/tokens/{token}/revoke", .anywhere([.administer])), ("GET", "/audit", .anywhere([.administer])),
        ]
        return Dictionary(uniqueKeysWithValues: rows.map { (Route(method: $0.0, path: $0.1), $0.2) })
    }()

    /// A caller: nobody, a bad credential, a participant's link, or a role (by token or by cookie),
    /// given the study in the path or another one.
    struct Caller: CustomStringConvertible {
        enum Credential { case none, wrongToken, participantLink, token, cookie }
        var credential: Credential
        var role: Role?
        var reachesStudy: Bool

        var description: String {
            "\(credential)" + (role.map { " \($0.rawValue)" } ?? "") + (role != nil && role != .admin && !reachesStudy ? " of another study" : "")
        }

        static let all: [Caller] = [
            Caller(credential: .none, role: nil, reachesStudy: false),
            Caller(credential: .wrongToken, role: nil, reachesStudy: false),
            Caller(credential: .participantLink, role: nil, reachesStudy: false),
        ] + [Credential.token, .cookie].flatMap { credential in
            [Caller(credential: credential, role: .admin, reachesStudy: true)]
                + [Role.researcher, .analyst, .reviewer].flatMap { role in
                    [true, false].map { Caller(credential: credential, role: role, reachesStudy: $0) }
                }
        }
    }

    @Test func everyRouteHasARow() async throws {
        let database = try TestDatabase.make(.sqlite)
        defer { database.drop() }
        let store = try await database.open()
        let catalog = RouteCatalog()
        let capture = CaptureService(engine: nil, store: store, feed: LiveFeed(), provenance: .init(models: [:], configuration: [:]))
        _ = buildRouter(store: store, metrics: .init(), capture: capture, pages: .bundled(), catalog: catalog)
        #expect(catalog.allRoutes.subtracting(Self.table.keys).sorted() == [], "routes without a row in the access table")
        #expect(Set(Self.table.keys).subtracting(catalog.allRoutes).sorted() == [], "rows for routes that do not exist")
        try await store.close()
    }

    @Test(arguments: TestDatabase.Backend.available)
    func everyCallerGetsWhatItsRoleAllows(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let store = fixture.store
            let study = try await store.createStudy(
                StudyDefinition(name: "Access", purpose: "Who may call what", context: .mediaResearch), actor: "test")
            let other = try await store.createStudy(
                StudyDefinition(name: "Elsewhere", purpose: "Someone else's study", context: .mediaResearch), actor: "test")
            let stimulus = try await store.addStimulus(study: study.id, name: "Cut", variant: "A",
                                                       source: .url("https://cdn.example/a.mp4"), actor: "test")
            // One token and one signed-in user per role and reach; the admin's reach every study.
            var tokens: [String: String] = [:], cookies: [String: String] = [:]
            let password = "a long enough password"
            for caller in Caller.all where caller.role != nil {
                guard let role = caller.role else { continue }
                let given = role == .admin ? [] : [caller.reachesStudy ? study.id : other.id]
                let key = caller.description
                switch caller.credential {
                case .token:
                    tokens[key] = try await store.createToken(name: "t-\(role.rawValue)", role: role, studies: given, actor: "test").secret
                case .cookie:
                    let user = try await store.addUser(name: "u-\(role.rawValue)-\(caller.reachesStudy)", role: role, password: password, actor: "test")
                    for id in given { try await store.grantAccess(study: id, to: user.id, actor: "test") }
                    cookies[key] = user.name
                default: break
                }
            }
            var sessions: [String: String] = [:]
            func signIn(_ name: String) async throws -> String {
                guard case .signedIn(_, let secret) = try await store.signIn(name: name, password: password, address: "test") else {
                    throw FixtureFailure(description: "could not sign \(name) in")
                }
                return secret
            }
            for (key, name) in cookies { sessions[key] = try await signIn(name) }
            // The user `{user}` names: disabled by the first caller allowed to, and again (no change) by the rest.
            _ = try await store.addUser(name: "spare", role: .researcher, password: password, actor: "test")
            // Likewise the token `{token}` names: revoked by the first caller allowed to.
            let spareToken = try await store.createToken(name: "spare", role: .analyst, actor: "test").0.id

            let unknownLink = String(repeating: "ab", count: 24)
            let port = try #require(client.port)
            for (route, access) in Self.table.sorted(by: { $0.key < $1.key }) {
                let isAPI = route.path.hasPrefix("/api/") || route.path.hasPrefix("/p/") || ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(route.path)
                for caller in Caller.all {
                    if caller.credential == .cookie && isAPI && route.path.hasPrefix("/p/") { continue }
                    // The participant holds a link of their own: unconsented for the briefing and consent, consented otherwise.
                    // Its link and participant also stand in for `{invitation}` and `{participant}`.
                    let (invitation, fresh) = try await store.createInvitation(study: study.id, stimulus: stimulus.id, hours: 1, actor: "test")
                    var participant = "p_0000000000000000"
                    if !route.path.hasSuffix("/briefing") && !route.path.hasSuffix("/consent") {
                        participant = try await store.consent(throughInvitation: fresh, purposes: [Consent.analysisPurpose],
                                                              excludedEmotions: [], segment: nil).0.id
                    }
                    let secret = caller.credential == .participantLink ? fresh : unknownLink
                    var headers: [String] = []
                    var csrf: String?
                    switch caller.credential {
                    case .none: break
                    case .wrongToken: headers.append("Authorization: Bearer afk_" + String(repeating: "0", count: 64))
                    case .participantLink: headers.append("Authorization: Bearer \(fresh)")
                    case .token: headers.append("Authorization: Bearer \(tokens[caller.description] ?? "")")
                    case .cookie:
                        let session = sessions[caller.description] ?? ""
                        headers.append("Cookie: affect_session=\(session)")
                        csrf = Principal.csrfToken(forSession: session)
                    }
                    var path = route.path.replacingOccurrences(of: "{study}", with: study.id)
                        .replacingOccurrences(of: "{secret}", with: secret)
                        .replacingOccurrences(of: "{moment}", with: "am_0000000000000000")
                        .replacingOccurrences(of: "{invitation}", with: invitation.id)
                        .replacingOccurrences(of: "{grantee}", with: "us_0000000000000000")
                        .replacingOccurrences(of: "{stimulus}", with: stimulus.id)
                        .replacingOccurrences(of: "{participant}", with: participant)
                        .replacingOccurrences(of: "{token}", with: spareToken)
                        .replacingOccurrences(of: "{user}", with: "spare")
                    if path.hasSuffix("/upload") { path += "?name=Clip" }
                    if path.hasSuffix("/releases/confirm") { path += "?segment_by=age&epsilon=0.1" }
                    let body: String
                    if route.method != "POST" {
                        body = ""
                    } else if isAPI {
                        body = route.path.hasSuffix("/consent") ? #"{"agreed": true}"# : "{}"
                        headers.append("Content-Type: application/json")
                        if let csrf { headers.append("X-CSRF-Token: \(csrf)") }
                    } else {
                        body = csrf.map { "_csrf=\($0)" } ?? ""
                        headers.append("Content-Type: application/x-www-form-urlencoded")
                    }
                    let request = "\(route.method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
                        + headers.map { $0 + "\r\n" }.joined() + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
                    // The event stream never ends: the head is enough.
                    let (status, head) = try await RawConnection.run {
                        let connection = try RawConnection(port: port)
                        connection.send(request)
                        return connection.readHead()
                    }
                    let context = "\(route) as \(caller): \(status)"
                    // A capture socket needs models, which this server has not: 503 is its answer, not a failure.
                    #expect(status < 500 || route.path.hasSuffix("/ws") && status == 503, "\(context)")
                    let signedOut = !isAPI && route.method == "GET" ? status == 303 && head.contains("Location: /sign-in")
                                                                    : status == 401
                    switch (access, caller.credential) {
                    case (.everyone, _):
                        #expect(status != 403 && status != 404 || route.path.hasPrefix("/p/"), "\(context)")
                    case (.link, .participantLink):
                        #expect(![401, 403, 404, 410].contains(status), "\(context)")
                    case (.link, _):
                        #expect(status == 404, "\(context) (an unknown link)")
                    case (_, .none), (_, .wrongToken), (_, .participantLink):
                        #expect(signedOut, "\(context) (should be refused as signed out)")
                    case (.person, .cookie):
                        #expect(![401, 403, 404].contains(status), "\(context)")
                    case (.person, _):
                        #expect(status == 403, "\(context)")
                    case (.anywhere(let permissions), _), (.inStudy(let permissions), _):
                        let role = caller.role ?? .admin
                        let perStudy = if case .inStudy = access { true } else { false }
                        if !permissions.contains(where: { $0.isGranted(to: role) }) {
                            #expect(status == 403, "\(context) (the role may not)")
                        } else if perStudy && !caller.reachesStudy && role != .admin {
                            #expect(status == 404, "\(context) (another study's)")
                        } else {
                            #expect(![401, 403, 404].contains(status), "\(context)")
                        }
                    }
                    // Signing out ends the session: sign that user in again for the routes after.
                    if route.path == "/sign-out", caller.credential == .cookie, let name = cookies[caller.description] {
                        sessions[caller.description] = try await signIn(name)
                    }
                }
            }
        }
    }

    struct FixtureFailure: Error, CustomStringConvertible {
        var description: String
    }
}
