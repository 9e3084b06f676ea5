import AffectStore
import Hummingbird

/// The console's door: `/` (sign-in, or the studies once signed in), sign-in and sign-out, the
/// first admin's one-time setup link, and the account page (password change).
struct SignInController {
    let store: PrivacyStore
    let templates: ConsoleTemplates
    /// Cookies marked Secure whatever the request (`--secure-cookies`); otherwise they are when the
    /// request came over HTTPS (``RequestClient/isSecure``).
    let secureCookies: Bool

    struct SignInPage {
        var next: String
        var message: String?
        var name: String
    }

    struct SetupPage {
        var secret: String
        var message: String?
        var name: String
    }

    struct AccountPage {
        var message: String?
        var changed: Bool
    }

    func addRoutes(to root: Routes) {
        root.get("") { _, context -> Response in
            ConsoleTemplates.redirect(to: context.principal == nil ? "/sign-in" : "/studies")
        }
        root.get("sign-in") { request, context -> Response in
            if context.principal != nil { return ConsoleTemplates.redirect(to: "/studies") }
            let next = ConsoleErrors.safeNext(request.uri.queryParameters["next"].map(String.init))
            return try templates.page("sign-in", title: "Sign in", context: context, data: SignInPage(next: next, message: nil, name: ""))
        }
        root.post("sign-in") { request, context -> Response in
            let form = try await Self.form(request)
            let name = form["name"] ?? "", next = ConsoleErrors.safeNext(form["next"])
            switch try await store.signIn(name: name, password: form["password"] ?? "", address: Self.address(context)) {
            case .signedIn(_, let secret):
                return ConsoleTemplates.redirect(to: next, headers: [.setCookie: SessionCookie.set(secret, secure: secure(context))])
            case .refused:
                return try templates.page("sign-in", title: "Sign in", context: context, status: .unauthorized,
                                          data: SignInPage(next: next, message: "That name and password do not match an account.", name: name))
            case .throttled:
                let minutes = PrivacyStore.signInWindowMilliseconds / 60_000
                return try templates.page("sign-in", title: "Sign in", context: context, status: .tooManyRequests,
                                          data: SignInPage(next: next, message: "Too many attempts. Wait \(minutes) minutes, then try again.", name: name))
            }
        }
        root.post("sign-out") { request, context -> Response in
            if let secret = SessionCookie.secret(in: request) { try await store.signOut(secret: secret) }
            return ConsoleTemplates.redirect(to: "/sign-in", headers: [.setCookie: SessionCookie.clear(secure: secure(context))])
        }
        root.get("setup/:secret") { _, context -> Response in
            let secret = try context.parameters.require("secret")
            guard try await store.setupLinkIsUsable(secret: secret) else { throw Self.setupGone }
            return try templates.page("setup", title: "Set up Affect", context: context, data: SetupPage(secret: secret, message: nil, name: ""))
        }
        root.post("setup/:secret") { request, context -> Response in
            let secret = try context.parameters.require("secret")
            let form = try await Self.form(request)
            let name = form["name"] ?? "", password = form["password"] ?? ""
            func again(_ message: String) throws -> Response {
                try templates.page("setup", title: "Set up Affect", context: context, status: .unprocessableContent,
                                   data: SetupPage(secret: secret, message: message, name: name))
            }
            guard password == form["confirm"] else { return try again("The two passwords are not the same.") }
            do {
                guard let (_, session) = try await store.completeSetup(secret: secret, name: name, password: password) else {
                    throw Self.setupGone
                }
                return ConsoleTemplates.redirect(to: "/studies", headers: [.setCookie: SessionCookie.set(session, secure: secure(context))])
            } catch StoreError.invalidInput(let message) {
                return try again(message.prefix(1).uppercased() + message.dropFirst() + ".")
            }
        }
        root.get("account") { _, context -> Response in
            _ = try context.person()
            return try templates.page("account", title: "Account", context: context, data: AccountPage(message: nil, changed: false))
        }
        root.post("account/password") { request, context -> Response in
            let (principal, secret) = try context.person()
            let form = try await Self.form(request)
            let new = form["new"] ?? ""
            func answer(_ message: String?, changed: Bool = false) throws -> Response {
                try templates.page("account", title: "Account", context: context, status: message == nil ? .ok : .unprocessableContent,
                                   data: AccountPage(message: message, changed: changed))
            }
            guard new == form["confirm"] else { return try answer("The two new passwords are not the same.") }
            do {
                guard try await store.changePassword(user: principal.id, current: form["current"] ?? "", new: new, keeping: secret,
                                                     actor: principal.actor) else {
                    return try answer("The current password is not right.")
                }
            } catch StoreError.invalidInput(let message) {
                return try answer(message.prefix(1).uppercased() + message.dropFirst() + ".")
            }
            return try answer(nil, changed: true)
        }
    }

    static let setupGone = HTTPError(.gone, message: "This setup link has been used or has expired. Sign in, or ask an admin for an account.")

    /// A posted form, read within the console's form limit.
    static func form(_ request: Request) async throws -> FormFields {
        var request = request
        return FormFields(String(buffer: try await request.collectBody(upTo: CSRF.maximumFormBytes)))
    }

    /// The client's address, for the sign-in throttle: behind a trusted proxy, the one it forwards.
    static func address(_ context: AffectRequestContext) -> String {
        context.client.address
    }

    func secure(_ context: AffectRequestContext) -> Bool {
        secureCookies || context.client.isSecure
    }
}
