import AffectStore
import Hummingbird

/// The console's sign-in cookie: its value is the session's secret (stored only as SHA-256). HttpOnly
/// (no script reads it), SameSite=Strict (no other site's page sends it), Secure when the server is
/// reached over HTTPS.
enum SessionCookie {
    static let name = "affect_session"

    static func secret(in request: Request) -> String? {
        request.cookies[name]?.value
    }

    static func set(_ secret: String, secure: Bool) -> String {
        let maximumAge = Int(PrivacyStore.webSessionMilliseconds / 1000)
        return "\(name)=\(secret); Path=/; Max-Age=\(maximumAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func clear(secure: Bool) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}


