import AffectStore
import Crypto
import Foundation

/// Who is calling: a person signed in to the console (by cookie) or a script (by API token). Both
/// pass through ``Authenticator`` and ``AffectRequestContext/authorize(_:study:store:)``, so a route
/// is open to one exactly when it is open to the other.
public struct Principal: Sendable {
    /// How the caller proved who it is.
    public enum Credential: Sendable {
        /// The console's cookie; its secret, from which the CSRF token is derived.
        case webSession(secret: String)
        case apiToken
    }

    /// The user's or the token's id: what studies are shared with.
    public var id: String
    public var name: String
    public var role: Role
    public var credential: Credential
    /// The studies given to this caller (an admin reaches every study without them).
    public var studies: Set<String>

    /// How the caller appears in the audit log.
    public var actor: String {
        switch credential {
        case .webSession: "user:\(name)"
        case .apiToken: "api:\(name)"
        }
    }

    /// Whether the caller may act in a study at all.
    public func reaches(study id: String) -> Bool { role == .admin || studies.contains(id) }

    /// Whether `permission` is granted to this caller's role (study permissions: in the studies it reaches).
    public func may(_ permission: Permission) -> Bool { permission.isGranted(to: role) }

    /// The token a console page must send back with every change (forms, and scripts' fetches), for
    /// cookie sign-ins; nil for API tokens, which no other site's page can send.
    public var csrfToken: String? {
        guard case .webSession(let secret) = credential else { return nil }
        return Self.csrfToken(forSession: secret)
    }

    static func csrfToken(forSession secret: String) -> String {
        // Derived, not stored: only a page that can read this site's responses learns it.
        SHA256.hash(data: Data(("csrf:" + secret).utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
