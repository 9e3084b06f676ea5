@testable import AffectServer
import AffectStore
import AffectTestSupport
import HTTPTypes
import Testing

/// `--trusted-proxy`: a proxy's `X-Forwarded-For` and `X-Forwarded-Proto` are believed from the
/// proxy and only from it. Through the real server on both backends, the sign-in throttle counts
/// per forwarded client behind a trusted proxy and per peer otherwise, and cookies and HSTS follow
/// the forwarded scheme only from the proxy.
@Suite struct ForwardedHeadersTests {
    typealias Exchange = ConsoleSessionTests

    @Test func addressRangesParseAndMatchBothFamilies() throws {
        let ten = try #require(AddressRange("10.0.0.0/8"))
        #expect(ten.contains("10.200.3.4") && !ten.contains("11.0.0.1") && !ten.contains("::1"))
        #expect(ten.contains("::ffff:10.1.2.3"), "an IPv4 peer on an IPv6 socket")
        let one = try #require(AddressRange("192.0.2.10"))
        #expect(one.contains("192.0.2.10") && !one.contains("192.0.2.11") && one.description == "192.0.2.10/32")
        #expect(AddressRange("192.0.2.77/24")?.description == "192.0.2.0/24", "host bits are cleared")
        let documentation = try #require(AddressRange("2001:db8::/32"))
        #expect(documentation.contains("2001:db8:1::5") && !documentation.contains("2001:db9::1"))
        #expect(AddressRange("[::1]")?.contains("::1") == true)
        #expect(AddressRange("0.0.0.0/0")?.contains("203.0.113.9") == true)
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "proxy.example", "10.0.0.0/8/8", "::1/129", "10.0.0.0/+8", "1.2.3.4:80"] {
            #expect(AddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func onlyATrustedPeersHeadersAreBelieved() throws {
        let trust = ProxyTrust(trustedProxies: [try #require(AddressRange("10.0.0.0/8"))])
        let forwarded: HTTPFields = [.init("X-Forwarded-For")!: "198.51.100.1, 203.0.113.7", .init("X-Forwarded-Proto")!: "https"]
        #expect(trust.client(peer: "10.0.0.5", headers: forwarded) == RequestClient(address: "203.0.113.7", isSecure: true))
        #expect(trust.client(peer: "192.0.2.1", headers: forwarded) == RequestClient(address: "192.0.2.1", isSecure: false),
                "from an untrusted peer both headers are ignored")
        #expect(trust.client(peer: nil, headers: forwarded) == RequestClient(address: "unknown", isSecure: false))
        // A chain of our own proxies is walked through; what the client wrote on the left is not believed.
        var chain = forwarded
        chain[.init("X-Forwarded-For")!] = "1.1.1.1, 203.0.113.7, 10.0.0.9"
        #expect(trust.client(peer: "10.0.0.5", headers: chain).address == "203.0.113.7")
        // Several header lines read as one list; a hop that is not an address ends the walk.
        var lines: HTTPFields = [:]
        lines.append(.init(name: .init("X-Forwarded-For")!, value: "203.0.113.8"))
        lines.append(.init(name: .init("X-Forwarded-For")!, value: "10.1.1.1"))
        #expect(trust.client(peer: "10.0.0.5", headers: lines).address == "203.0.113.8")
        #expect(trust.client(peer: "10.0.0.5", headers: [.init("X-Forwarded-For")!: "unknown"]).address == "10.0.0.5")
        // The scheme the nearest proxy says counts.
        #expect(!trust.client(peer: "10.0.0.5", headers: [.init("X-Forwarded-Proto")!: "https, http"]).isSecure)
        // Our own TLS is secure whoever the peer is.
        #expect(ProxyTrust(terminatesTLS: true).client(peer: "192.0.2.1", headers: [:]).isSecure)
    }

    static let viaProxy = ["X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"]

    /// `count` wrong sign-ins, ten at a time (the password gate queues 64 across the process, and
    /// other suites sign in meanwhile), each under a name of its own so only the address count can stop them.
    static func wrongAttempts(_ port: Int, count: Int, from address: @escaping @Sendable (Int) -> String) async throws -> [Int] {
        var statuses: [Int] = []
        for batch in stride(from: 0, to: count, by: 10) {
            statuses += try await withThrowingTaskGroup(of: Int.self) { group in
                for index in batch..<min(count, batch + 10) {
                    group.addTask {
                        try await Exchange.exchange(port, "POST", "/sign-in", headers: ["X-Forwarded-For: \(address(index))"],
                                                    body: "name=nobody\(index)&password=a+wrong+guess+again").status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        return statuses
    }

    @Test(arguments: TestDatabase.Backend.available)
    func behindATrustedProxyTheForwardedClientCounts(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend, configure: { $0.trustedProxies = [AddressRange("127.0.0.1")].compactMap { $0 } }) { client, fixture in
            let port = try #require(client.port)
            _ = try await fixture.store.addUser(name: "rita", role: .researcher, password: Exchange.password, actor: "test")
            let secure = try await Exchange.exchange(port, "POST", "/sign-in", headers: Self.viaProxy,
                                                     body: "name=rita&password=a+long+enough+password")
            #expect(secure.status == 303)
            #expect(Exchange.cookie(in: secure.head)?.hasSuffix("; Secure") == true, "\(secure.head)")
            #expect(secure.head.contains("Strict-Transport-Security: max-age=31536000"))
            let plain = try await Exchange.exchange(port, "GET", "/sign-in", headers: ["X-Forwarded-Proto: http"])
            #expect(plain.status == 200 && !plain.head.contains("Strict-Transport-Security"))

            let limit = Int(PrivacyStore.signInAttemptsPerAddress)
            let statuses = try await Self.wrongAttempts(port, count: limit) { _ in "203.0.113.7" }
            // The sign-in above counted too: one of these is over the limit.
            #expect(statuses.filter { $0 == 401 }.count == limit - 1, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 1, "\(statuses.sorted())")
            #expect(try await Self.wrongAttempts(port, count: 1) { _ in "203.0.113.7" } == [429], "that client's limit is reached")
            #expect(try await Self.wrongAttempts(port, count: 1) { _ in "203.0.113.8" } == [401], "another client behind the same proxy is not held up")
        }
    }

    @Test(arguments: TestDatabase.Backend.available)
    func fromAnUntrustedPeerForwardedHeadersAreIgnored(_ backend: TestDatabase.Backend) async throws {
        try await ServerFixture.run(backend, configure: { $0.trustedProxies = [AddressRange("10.0.0.0/8")].compactMap { $0 } }) { client, fixture in
            let port = try #require(client.port)
            _ = try await fixture.store.addUser(name: "rita", role: .researcher, password: Exchange.password, actor: "test")
            let claimed = try await Exchange.exchange(port, "POST", "/sign-in", headers: Self.viaProxy,
                                                      body: "name=rita&password=a+long+enough+password")
            #expect(claimed.status == 303)
            let cookie = try #require(Exchange.cookie(in: claimed.head))
            #expect(!cookie.contains("Secure") && !claimed.head.contains("Strict-Transport-Security"), "\(claimed.head)")

            // Every attempt claims another address; all are this peer's, so its limit stops them.
            let limit = Int(PrivacyStore.signInAttemptsPerAddress)
            let statuses = try await Self.wrongAttempts(port, count: limit) { "198.51.100.\($0 % 250 + 1)" }
            #expect(statuses.filter { $0 == 401 }.count == limit - 1, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 1, "\(statuses.sorted())")
            #expect(try await Self.wrongAttempts(port, count: 1) { _ in "203.0.113.99" } == [429])
        }
    }
}
