import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// `affect users` and `affect tokens`, as an admin at a terminal or a script would use them.
@Suite struct AccountsCommandTests {
    @Test func usersAreAddedListedAndDisabledAndTokensMadeListedAndRevoked() async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = "sqlite:" + directory.appendingPathComponent("affect.sqlite").path
        // The password comes on standard input: never an argument (other users see arguments in ps).
        let added = try CommandRunner.shell("printf '%s\\n' 'a long enough password' | \"$AFFECT\" users add rita --role researcher --db '\(db)'")
        #expect(added.status == 0, "\(added.stderr)")
        let user = try #require(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any])
        #expect(user["name"] as? String == "rita" && user["role"] as? String == "researcher")
        #expect(!added.stdout.contains("password"), "nothing of the password is printed")

        let short = try CommandRunner.shell("printf '%s\\n' 'short' | \"$AFFECT\" users add ana --role analyst --db '\(db)'")
        #expect(short.status != 0 && short.stderr.contains("at least 10 characters"), "\(short.stderr)")
        let again = try CommandRunner.shell("printf '%s\\n' 'a long enough password' | \"$AFFECT\" users add RITA --role analyst --db '\(db)'")
        #expect(again.status != 0 && again.stderr.contains("already exists"), "names are unique without case: \(again.stderr)")
        let role = try CommandRunner.affect(["users", "add", "x", "--role", "owner", "--db", db])
        #expect(role.status == 64, "an unknown role is a usage error")

        let listed = try CommandRunner.affect(["users", "list", "--db", db])
        #expect(listed.stdoutLines.count == 1 && !listed.stdout.contains("scrypt"), "\(listed.stdout)")
        let disabled = try CommandRunner.affect(["users", "disable", "rita", "--db", db])
        #expect(disabled.status == 0 && disabled.stdout.contains("disabled_at"))
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        guard case .refused = try await store.signIn(name: "rita", password: "a long enough password", address: "test") else {
            Issue.record("a disabled user signed in")
            return
        }

        let made = try CommandRunner.affect(["tokens", "create", "--role", "analyst", "--name", "dashboards", "--db", db])
        #expect(made.status == 0, "\(made.stderr)")
        let created = try #require(try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])
        let secret = try #require(created["secret"] as? String)
        let id = try #require((created["token"] as? [String: Any])?["id"] as? String)
        #expect(try await store.authenticate(secret: secret)?.role == .analyst)
        let tokens = try CommandRunner.affect(["tokens", "list", "--db", db])
        #expect(tokens.stdoutLines.count == 1 && !tokens.stdout.contains(secret), "the secret is shown once")
        #expect(try CommandRunner.affect(["tokens", "revoke", id, "--db", db]).status == 0)
        #expect(try await store.authenticate(secret: secret) == nil, "a revoked token stops working")
        try await store.close()
    }
}
