import Foundation
import HTTPTypes
import Hummingbird

/// Cross-site request forgery: a change made with the console's cookie must carry the page's CSRF
/// token, as the `X-CSRF-Token` header (scripts) or the `_csrf` field of a form. The cookie is
/// SameSite=Strict as well; the token also holds where SameSite is not honoured.
enum CSRF {
    static let headerName = "X-CSRF-Token"
    static let field = "_csrf"
    /// The largest form read to find the token (console forms are small; uploads send the header).
    static let maximumFormBytes = 64 * 1024

    static func check(_ request: inout Request, expected: String) async throws {
        if let header = HTTPField.Name(headerName), let sent = request.headers[header] {
            guard constantTimeEqual(sent, expected) else { throw refusal }
            return
        }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else { throw refusal }
        // Read once here; the route reads the same collected body after. A body too big to be a
        // console form is not one: refused like a missing token.
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maximumFormBytes)
        } catch {
            throw refusal
        }
        let form = FormFields(String(buffer: body))
        guard let sent = form[field], constantTimeEqual(sent, expected) else { throw refusal }
    }

    /// A form posted without a session (sign-in, setup) must come from a page of this server: browsers
    /// send `Origin` with every POST, and it must name the host the request was sent to.
    static func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin], origin != "null" else { return }
        guard let host = request.head.authority, let url = URL(string: origin),
              "\(url.host ?? "")\(url.port.map { ":\($0)" } ?? "")" == host else {
            throw HTTPError(.forbidden, message: "this form was sent from another site")
        }
    }

    static let refusal = HTTPError(.forbidden, message: "this page has expired: reload it and try again (CSRF token missing or wrong)")

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The fields of an `application/x-www-form-urlencoded` body (first value of each name).
struct FormFields: Sendable {
    private(set) var values: [String: [String]] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            values[decode(parts[0]), default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    subscript(name: String) -> String? { values[name]?.first }

    /// Every value given for `name` (checkboxes, multiple selects).
    func all(_ name: String) -> [String] { values[name] ?? [] }
}
