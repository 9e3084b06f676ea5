import AffectStore
import ArgumentParser
import Foundation

extension Role: ExpressibleByArgument {}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "People who sign in to the researcher console: add, list, disable.",
        discussion: """
        Roles: admin (everything: users, tokens, every study), researcher (creates studies and runs those \
        they created or are given), analyst (reads results and reports of studies shared with them), \
        reviewer (reviews audience moments of studies shared with them). Share a study in the console \
        (study page, "Access") or with --study here.

        The first admin usually comes from the setup link `affect serve` prints on its first start.
        """,
        subcommands: [Add.self, List.self, Disable.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user; prints it as JSON.",
            discussion: """
            The password is read from standard input (one line), or asked for without echo at a terminal. \
            At least \(PasswordHash.minimumLength) characters. Only its scrypt hash is stored.

            Example:
              printf '%s\\n' "$PASSWORD" | affect users add ana --role analyst --study "Trailer A/B"
            """)
        @Argument(help: "The name they sign in with (letters a-z, digits, . _ @ -).") var name: String
        @Option(help: "admin, researcher, analyst or reviewer.") var role: Role
        @Option(help: "A study (id or name) they may reach; repeat for more.") var study: [String] = []
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let password = try PasswordPrompt.read(prompt: "Password for \(name): ")
                let store = try await database.open()
                let user = try await store.addUser(name: name, role: role, password: password, actor: DatabaseOptions.actor)
                for study in self.study {
                    try await store.grantAccess(study: study, to: user.id, actor: DatabaseOptions.actor)
                }
                try JSONOutput.printLine(user)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users as JSON lines (never their passwords).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for user in try await store.users() { try JSONOutput.printLine(user) }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: they cannot sign in again, and every browser signed in as them is signed out.")
        @Argument(help: "User name or id.") var user: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                try JSONOutput.printLine(try await store.disableUser(user, actor: DatabaseOptions.actor))
            }
        }
    }
}

/// Reads a password: a line from standard input, without echo when it is a terminal.
enum PasswordPrompt {
    static func read(prompt: String) throws -> String {
        let line: String?
        if isatty(STDIN_FILENO) != 0 {
            line = getpass(prompt).map { String(cString: $0) }
        } else {
            line = Swift.readLine(strippingNewline: true)
        }
        guard let line, !line.isEmpty else { throw ValidationError("no password given (send it on standard input)") }
        return line
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "API tokens for scripts: create, list, revoke.",
        discussion: """
        A token authenticates API calls as `Authorization: Bearer SECRET`. The secret is printed once, \
        when the token is created; only its SHA-256 is stored. A token other than an admin's reaches only \
        the studies given with --study (or shared with it later in the console).

        Example:
          affect tokens create --role analyst --name dashboards --study "Trailer A/B"
        """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; prints it with its secret as one JSON line.")
        @Option(help: "admin, researcher, analyst or reviewer.") var role: Role
        @Option(help: "A label for the token (who or what uses it).") var name: String?
        @Option(help: "A study (id or name) it may reach; repeat for more.") var study: [String] = []
        @OptionGroup var database: DatabaseOptions

        struct Created: Encodable {
            var token: PrivacyStore.APIToken
            var secret: String
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let (token, secret) = try await store.createToken(name: name ?? role.rawValue, role: role,
                                                                  studies: role == .admin ? [] : study, actor: DatabaseOptions.actor)
                try JSONOutput.printLine(Created(token: token, secret: secret))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens as JSON lines (never their secrets).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for token in try await store.tokens() { try JSONOutput.printLine(token) }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it stops working at once, on every server.")
        @Argument(help: "Token id (tk_...).") var token: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                try JSONOutput.printLine(try await store.revokeToken(token, actor: DatabaseOptions.actor))
            }
        }
    }
}
