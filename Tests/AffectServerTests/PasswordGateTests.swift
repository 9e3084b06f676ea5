@testable import AffectServer
import AffectStore
import AffectTestSupport
import Testing

/// The password gate (two derivations at once, 64 waiting) is a limit anyone can reach: past it a
/// sign-in is refused in words with 503, as a refusal rather than a server failure (which said the
/// database did not answer, and logged an error line per request).
@Suite struct PasswordGateTests {
    @Test func aFullPasswordGateIsRefusedInWords() async throws {
        try await ServerFixture.run(.sqlite, configure: { $0.trustedProxies = [AddressRange("127.0.0.1")].compactMap { $0 } }) { client, _ in
            let port = try #require(client.port)
            // Each from an address and under a name of its own, so no throttle stops them first.
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let answer = try await ConsoleSessionTests.exchange(
                            port, "POST", "/sign-in", headers: ["X-Forwarded-For: 198.51.100.\(index + 1)"],
                            body: "name=nobody\(index)&password=a+wrong+guess+again")
                        return (answer.status, answer.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let busy = answers.filter { $0.0 == 503 }
            #expect(!busy.isEmpty, "100 at once overflow 2 running and 64 waiting: \(answers.map(\.0).sorted())")
            #expect(busy.allSatisfy { $0.1.contains("too many sign-ins at once; try again in a moment") }, "\(busy.first?.1 ?? "")")
            #expect(answers.allSatisfy { [401, 503].contains($0.0) }, "\(answers.map(\.0).sorted())")
        }
    }
}
