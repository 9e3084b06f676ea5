import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The console's pages: Mustache templates from the server's resource bundle, rendered on the server
/// (values HTML-escaped), sent with a strict Content-Security-Policy: only this server's own scripts,
/// styles, media and frames; nothing from elsewhere.
struct ConsoleTemplates: Sendable {
    let library: MustacheLibrary

    /// Loads every `.mustache` file in the bundled `Templates` folder; a template that does not parse
    /// stops the server at start, not a page later.
    static func bundled() throws -> ConsoleTemplates {
        let folder = Bundle.module.url(forResource: "Templates", withExtension: nil)?.path ?? "Templates"
        var library = MustacheLibrary()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".mustache") }
        for name in names {
            let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent(name), encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        return ConsoleTemplates(library: library)
    }

    static let contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
        + "script-src 'self'; connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"

    /// A page: `template` rendered with the layout's values and the page's own.
    func page<Data>(_ template: String, title: String, context: AffectRequestContext, status: HTTPResponse.Status = .ok,
                    data: Data) throws -> Response {
        let values = Page(layout: Layout(title: title, principal: context.principal), data: data)
        guard let html = library.render(values, withTemplate: template) else {
            throw HTTPError(.internalServerError, message: "a console page is missing (\(template))")
        }
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: Self.contentSecurityPolicy,
                                   .cacheControl: "no-store"]
        if let referrer = HTTPField.Name("Referrer-Policy") { headers[referrer] = "same-origin" }
        if let options = HTTPField.Name("X-Content-Type-Options") { headers[options] = "nosniff" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// What every page's template sees: the layout (`layout.*`) and the page's own values (`data.*`).
    struct Page<Data> {
        var layout: Layout
        var data: Data
    }

    /// The frame around every page: who is signed in, the CSRF token for forms, the navigation.
    struct Layout {
        struct Link {
            var href: String
            var label: String
        }

        var title: String
        var signedIn: Bool
        var name: String
        var role: String
        var csrf: String
        var navigation: [Link]

        init(title: String, principal: Principal?) {
            self.title = title
            signedIn = principal != nil
            name = principal?.name ?? ""
            role = principal?.role.rawValue ?? ""
            csrf = principal?.csrfToken ?? ""
            var links = [Link(href: "/studies", label: "Studies")]
            if let principal {
                if principal.may(.readResults) { links.append(Link(href: "/live", label: "Live")) }
                if principal.may(.runStudy) { links.append(Link(href: "/subjects", label: "Subject rights")) }
                if principal.may(.administer) {
                    links += [Link(href: "/users", label: "Users"), Link(href: "/tokens", label: "Tokens"), Link(href: "/audit", label: "Audit log")]
                }
                links.append(Link(href: "/account", label: "Account"))
            }
            navigation = principal == nil ? [] : links
        }
    }

    /// A redirect after a form (303: the browser then GETs the new page).
    static func redirect(to location: String, headers: HTTPFields = [:]) -> Response {
        var all: HTTPFields = [.location: location, .cacheControl: "no-store"]
        all.append(contentsOf: headers)
        return Response(status: .seeOther, headers: all)
    }
}
