import AffectStore
import Foundation
import Hummingbird

/// The console's admin pages (``Permission/administer``): users, API tokens, the audit log. The same
/// store calls as `/api/v1/users`, `/api/v1/tokens` and `affect audit`.
struct AdminPagesController {
    let store: PrivacyStore
    let templates: ConsoleTemplates

    struct UsersPage {
        struct Row {
            var id: String
            var name: String
            var role: String
            var created: String
            var disabled: String?
        }

        var users: [Row]
        var roles: [StudyPagesController.Choice]
        var message: String?
    }

    struct TokensPage {
        struct Row {
            var id: String
            var name: String
            var role: String
            var created: String
            var lastUsed: String
            var revoked: String?
        }

        var tokens: [Row]
        var empty: Bool
        var roles: [StudyPagesController.Choice]
        var studies: [StudyPagesController.Choice]
        var secret: String?
        var message: String?
    }

    struct AuditPage {
        struct Row {
            var sequence: Int64
            var at: String
            var actor: String
            var action: String
            var subject: String
        }

        var events: [Row]
        var total: Int
        var verified: Bool
        var verification: String?
        var intact: Bool
    }

    /// The audit page shows this many newest events (`affect audit` prints them all).
    static let auditPageSize = 200

    func addRoutes(to root: Routes) {
        root.get("users") { _, context -> Response in
            try context.authorize(.administer)
            return try templates.page("users", title: "Users", context: context, data: try await usersPage(message: nil))
        }
        root.post("users") { request, context -> Response in
            let principal = try context.authorize(.administer)
            let form = try await SignInController.form(request)
            guard let role = Role(rawValue: form["role"] ?? "") else { throw HTTPError(.unprocessableContent, message: "Choose a role.") }
            do {
                _ = try await store.addUser(name: form["name"] ?? "", role: role, password: form["password"] ?? "", actor: principal.actor)
            } catch let error as StoreError {
                return try templates.page("users", title: "Users", context: context, status: .unprocessableContent,
                                          data: try await usersPage(message: ConsoleFormat.sentence(error.description)))
            }
            return ConsoleTemplates.redirect(to: "/users")
        }
        root.post("users/:user/disable") { _, context -> Response in
            let principal = try context.authorize(.administer)
            _ = try await store.disableUser(try context.parameters.require("user"), actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/users")
        }
        root.get("tokens") { _, context -> Response in
            try context.authorize(.administer)
            return try templates.page("tokens", title: "API tokens", context: context, data: try await tokensPage())
        }
        root.post("tokens") { request, context -> Response in
            let principal = try context.authorize(.administer)
            let form = try await SignInController.form(request)
            guard let role = Role(rawValue: form["role"] ?? "") else { throw HTTPError(.unprocessableContent, message: "Choose a role.") }
            let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
            do {
                let (_, secret) = try await store.createToken(name: name.isEmpty ? role.rawValue : name, role: role,
                                                              studies: role == .admin ? [] : form.all("study"), actor: principal.actor)
                // (An admin token reaches every study: ticked studies are not given to it.)
                // The secret is on this page once; reloading it does not show it again (the page is not cached).
                var page = try await tokensPage()
                page.secret = secret
                return try templates.page("tokens", title: "API tokens", context: context, status: .created, data: page)
            } catch let error as StoreError {
                var page = try await tokensPage()
                page.message = ConsoleFormat.sentence(error.description)
                return try templates.page("tokens", title: "API tokens", context: context, status: .unprocessableContent, data: page)
            }
        }
        root.post("tokens/:token/revoke") { _, context -> Response in
            let principal = try context.authorize(.administer)
            _ = try await store.revokeToken(try context.parameters.require("token"), actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/tokens")
        }
        // Verifying reads the chain and changes nothing: a GET with ?verify.
        root.get("audit") { request, context -> Response in
            try context.authorize(.administer)
            let events = try await store.auditEvents()
            var page = AuditPage(events: events.suffix(Self.auditPageSize).reversed().map {
                AuditPage.Row(sequence: $0.sequence, at: ConsoleFormat.date($0.at), actor: $0.actor, action: $0.action, subject: $0.subject)
            }, total: events.count, verified: false, verification: nil, intact: false)
            if request.uri.queryParameters["verify"] != nil {
                page.verified = true
                switch try await store.verifyAudit() {
                case .intact(let count, _):
                    page.intact = true
                    page.verification = "The chain holds: all \(count) events are as they were written."
                case .broken(let sequence, let reason):
                    page.verification = "The chain is broken at event \(sequence): \(reason)."
                }
            }
            return try templates.page("audit", title: "Audit log", context: context, data: page)
        }
    }

    private func usersPage(message: String?) async throws -> UsersPage {
        UsersPage(users: try await store.users().map {
            UsersPage.Row(id: $0.id, name: $0.name, role: $0.role.rawValue, created: ConsoleFormat.date($0.createdAt),
                          disabled: $0.disabledAt.map(ConsoleFormat.date))
        }, roles: Role.allCases.map { StudyPagesController.Choice(value: $0.rawValue, label: $0.rawValue, selected: $0 == .researcher) },
        message: message)
    }

    private func tokensPage() async throws -> TokensPage {
        let tokens = try await store.tokens().map {
            TokensPage.Row(id: $0.id, name: $0.name, role: $0.role.rawValue, created: ConsoleFormat.date($0.createdAt),
                           lastUsed: $0.lastUsedAt.map(ConsoleFormat.date) ?? "never", revoked: $0.revokedAt.map(ConsoleFormat.date))
        }
        return TokensPage(tokens: tokens, empty: tokens.isEmpty,
                          roles: Role.allCases.map { StudyPagesController.Choice(value: $0.rawValue, label: $0.rawValue, selected: $0 == .analyst) },
                          studies: try await store.studies().map { StudyPagesController.Choice(value: $0.id, label: $0.definition.name, selected: false) },
                          secret: nil, message: nil)
    }
}
