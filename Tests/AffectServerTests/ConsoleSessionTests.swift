@testable import AffectServer
import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The console's sign-in, through the real server on both backends: the cookie, the CSRF token on
/// every change, the sign-in throttle (exact under concurrent attempts), sign-out, expiry, disabling,
/// password change and the one-time setup link. Each test fails without the guard it names.
@Suite struct ConsoleSessionTests {
    static let password = "a long enough password"

    /// One HTTP exchange on a fresh connection: status, head and body.
    static func exchange(_ port: Int, _ method: String, _ path: String, headers: [String] = [], body: String = "",
                         form: Bool = true) async throws -> (status: Int, head: String, body: String) {
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
            + headers.map { $0 + "\r\n" }.joined()
            + (body.isEmpty && method == "GET" ? "" : "Content-Type: \(form ? "application/x-www-form-urlencoded" : "application/json")\r\n")
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        return try await RawConnection.run {
            let connection = try RawConnection(port: port)
            connection.send(request)
            let parsed = RawConnection.parse(connection.readToEnd().bytes)
            return (parsed.status, parsed.headers, parsed.body)
        }
    }

    static func cookie(in head: String) -> String? {
        head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }
            .map { String($0.dropFirst("set-cookie:".count)).trimmingCharacters(in: .whitespaces) }
    }

    /// Signs `name` in through the form; returns the cookie's `name=value` and its CSRF token.
    static func signIn(_ port: Int, _ name: String, password: String = password) async throws -> (cookie: String, csrf: String)? {
        let answer = try await exchange(port, "POST", "/sign-in", body: "name=\(name)&password=\(password.replacingOccurrences(of: " ", with: "+"))")
        guard answer.status == 303, let set = cookie(in: answer.head), let pair = set.split(separator: ";").first else { return nil }
        let secret = String(pair.dropFirst("affect_session=".count))
        return (String(pair), Principal.csrfToken(forSession: secret))
    }

    @Test(arguments: TestDatabase.Backend.available)
    func theCookieIsHttpOnlyStrictAndEndsAtSignOut(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            _ = try await fixture.store.addUser(name: "rita", role: .researcher, password: Self.password, actor: "test")
            let answer = try await Self.exchange(port, "POST", "/sign-in", body: "name=rita&password=a+long+enough+password&next=/studies")
            #expect(answer.status == 303)
            let set = try #require(Self.cookie(in: answer.head))
            #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "\(set)")
            let (cookie, csrf) = try #require(try await Self.signIn(port, "rita"))
            #expect(try await Self.exchange(port, "GET", "/studies", headers: ["Cookie: \(cookie)"]).status == 200)
            // Sign-out ends the session on the server: the same cookie, sent again, is refused.
            #expect(try await Self.exchange(port, "POST", "/sign-out", headers: ["Cookie: \(cookie)"], body: "_csrf=\(csrf)").status == 303)
            let after = try await Self.exchange(port, "GET", "/studies", headers: ["Cookie: \(cookie)"])
            #expect(after.status == 303 && after.head.contains("Location: /sign-in?next=/studies"), "\(after.head)")
            #expect(try await Self.exchange(port, "GET", "/api/v1/studies", headers: ["Cookie: \(cookie)"]).status == 401)
            // A wrong password and an unknown name get the same answer.
            let wrong = try await Self.exchange(port, "POST", "/sign-in", body: "name=rita&password=not+the+password")
            let unknown = try await Self.exchange(port, "POST", "/sign-in", body: "name=nobody&password=not+the+password")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.body.contains("do not match an account") && unknown.body.contains("do not match an account"))
        }
    }

    @Test(arguments: TestDatabase.Backend.available)
    func expiredDisabledAndChangedPasswordsEndSessions(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            let store = fixture.store
            _ = try await store.addUser(name: "ana", role: .analyst, password: Self.password, actor: "test")
            _ = try await store.addUser(name: "rev", role: .reviewer, password: Self.password, actor: "test")
            // Expiry: a session past its end is refused.
            let (expiring, _) = try #require(try await Self.signIn(port, "ana"))
            try await store.database.transaction { try await $0.execute("UPDATE web_sessions SET expires_at = 1") }
            #expect(try await Self.exchange(port, "GET", "/api/v1/studies", headers: ["Cookie: \(expiring)"]).status == 401)
            // Disabling signs every browser of the account out, and it cannot sign in again.
            let (disabled, _) = try #require(try await Self.signIn(port, "rev"))
            _ = try await store.disableUser("rev", actor: "test")
            #expect(try await Self.exchange(port, "GET", "/api/v1/studies", headers: ["Cookie: \(disabled)"]).status == 401)
            #expect(try await Self.signIn(port, "rev") == nil)
            // A password change signs the other browsers out, keeps this one, and the old password stops working.
            let (first, csrf) = try #require(try await Self.signIn(port, "ana"))
            let (second, _) = try #require(try await Self.signIn(port, "ana"))
            let changed = try await Self.exchange(port, "POST", "/account/password", headers: ["Cookie: \(first)"],
                                                  body: "_csrf=\(csrf)&current=a+long+enough+password&new=another+long+password&confirm=another+long+password")
            #expect(changed.status == 200 && changed.body.contains("password-changed"))
            #expect(try await Self.exchange(port, "GET", "/api/v1/studies", headers: ["Cookie: \(first)"]).status == 200)
            #expect(try await Self.exchange(port, "GET", "/api/v1/studies", headers: ["Cookie: \(second)"]).status == 401)
            #expect(try await Self.signIn(port, "ana") == nil)
            #expect(try await Self.signIn(port, "ana", password: "another long password") != nil)
        }
    }

    @Test(arguments: TestDatabase.Backend.available)
    func changesWithTheCookieNeedTheCSRFToken(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            _ = try await fixture.store.addUser(name: "rita", role: .researcher, password: Self.password, actor: "test")
            let (cookie, csrf) = try #require(try await Self.signIn(port, "rita"))
            let form = "name=Forged&purpose=Made+by+another+site&context=media-research&retention=30&k=5"
            // A form without the token, or with another, is refused and creates nothing.
            #expect(try await Self.exchange(port, "POST", "/studies", headers: ["Cookie: \(cookie)"], body: form).status == 403)
            #expect(try await Self.exchange(port, "POST", "/studies", headers: ["Cookie: \(cookie)"],
                                            body: "_csrf=\(String(repeating: "0", count: 32))&" + form).status == 403)
            // The API with the cookie needs the header; a JSON body has no form field to carry it.
            let json = #"{"name": "Forged", "purpose": "Made by another site", "context": "media-research"}"#
            #expect(try await Self.exchange(port, "POST", "/api/v1/studies", headers: ["Cookie: \(cookie)"], body: json, form: false).status == 403)
            #expect(try await fixture.store.studies().isEmpty, "nothing was created")
            // With the token both work.
            #expect(try await Self.exchange(port, "POST", "/studies", headers: ["Cookie: \(cookie)"], body: "_csrf=\(csrf)&" + form).status == 303)
            let second = json.replacingOccurrences(of: "Forged", with: "Scripted")
            #expect(try await Self.exchange(port, "POST", "/api/v1/studies", headers: ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)"],
                                            body: second, form: false).status == 201)
            // An API token is not ambient (no other site can send it): no CSRF token needed.
            #expect(try await Self.exchange(port, "POST", "/api/v1/studies", headers: ["Authorization: Bearer \(fixture.adminToken)"],
                                            body: json.replacingOccurrences(of: "Forged", with: "Token"), form: false).status == 201)
            // A sign-in form posted from another site is refused before any password is checked.
            let forged = try await Self.exchange(port, "POST", "/sign-in", headers: ["Origin: http://elsewhere.example"],
                                                 body: "name=rita&password=a+long+enough+password")
            #expect(forged.status == 403 && Self.cookie(in: forged.head) == nil)
            #expect(try await Self.exchange(port, "POST", "/sign-in", headers: ["Origin: http://127.0.0.1:\(port)"],
                                            body: "name=rita&password=a+long+enough+password").status == 303)
        }
    }

    /// Thirty concurrent wrong guesses at one name: the throttle counts each attempt in one statement
    /// before the password is checked, so exactly the limit are checked and the rest are refused
    /// unchecked; then even the right password waits for the window to pass. (A success clears the
    /// name's count: whoever has the password is not held up by their own typos.)
    @Test(arguments: TestDatabase.Backend.available)
    func signInsAreThrottledPerNameEvenWhenConcurrent(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            _ = try await fixture.store.addUser(name: "rita", role: .researcher, password: Self.password, actor: "test")
            // Names count without case.
            for _ in 0..<3 {
                #expect(try await Self.exchange(port, "POST", "/sign-in", body: "name=RITA&password=wrong+password+here").status == 401)
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 {
                    group.addTask { try await Self.exchange(port, "POST", "/sign-in", body: "name=rita&password=a+wrong+guess+again").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let limit = Int(PrivacyStore.signInAttemptsPerName)
            #expect(statuses.filter { $0 == 401 }.count == limit - 3, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 30 - (limit - 3), "\(statuses.sorted())")
            let refused = try await Self.exchange(port, "POST", "/sign-in", body: "name=rita&password=a+long+enough+password")
            #expect(refused.status == 429 && refused.body.contains("Too many attempts") && Self.cookie(in: refused.head) == nil)
            // Another name is not held up by this one's window.
            _ = try await fixture.store.addUser(name: "ana", role: .analyst, password: Self.password, actor: "test")
            #expect(try await Self.signIn(port, "ana") != nil)
        }
    }

    /// Ten concurrent uses of one setup link: one admin, one signed-in browser; the rest are told the
    /// link is used. An admin made, no new link is made.
    @Test(arguments: TestDatabase.Backend.available)
    func aSetupLinkMakesOneAdmin(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend) { client, fixture in
            let port = try #require(client.port)
            guard case .created(let stale) = try await fixture.store.setupLink(actor: "test") else {
                Issue.record("no setup link on an empty database")
                return
            }
            #expect(try await fixture.store.setupLink(actor: "test") == .pending, "an unused link stands")
            // Replaced on request: the earlier link stops working.
            guard case .created(let secret) = try await fixture.store.setupLink(replacing: true, actor: "test") else {
                Issue.record("no replacement link")
                return
            }
            #expect(try await Self.exchange(port, "GET", "/setup/\(stale)").status == 410)
            #expect(try await Self.exchange(port, "GET", "/setup/" + String(repeating: "0", count: 48)).status == 410)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await Self.exchange(port, "POST", "/setup/\(secret)",
                                                body: "name=admin\(index)&password=a+long+enough+password&confirm=a+long+enough+password").status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [303] + Array(repeating: 410, count: 9), "\(statuses.sorted())")
            #expect(try await fixture.store.users().filter { $0.role == .admin }.count == 1)
            #expect(try await fixture.store.setupLink(replacing: true, actor: "test") == .notNeeded, "there is an admin now")
        }
    }
}
