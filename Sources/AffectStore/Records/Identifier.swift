import Crypto
import Foundation

/// Random, meaningless identifiers: a prefix naming the kind and 16 hex digits (64 bits).
///
/// Participant ids are pseudonyms: nothing in them derives from the person, their face or
/// the time, so they link nothing outside the study.
public enum Identifier {
    public enum Kind: String, Sendable, CaseIterable {
        case study = "st"
        case participant = "p"
        case consent = "c"
        case session = "se"
        case stimulus = "sm"
        case token = "tk"
        case invitation = "iv"
        case release = "rl"
        case audienceMoment = "am"
        case job = "jb"
        case user = "us"

        var noun: String {
            switch self {
            case .study: "study"
            case .participant: "participant"
            case .consent: "consent"
            case .session: "session"
            case .stimulus: "stimulus"
            case .token: "token"
            case .invitation: "invitation"
            case .release: "privacy release"
            case .audienceMoment: "audience moment"
            case .job: "job"
            case .user: "user"
            }
        }
    }

    static func make(_ kind: Kind) -> String {
        "\(kind.rawValue)_" + randomHex(words: 1)
    }

    /// `words` x 64 random bits from the system's generator, as lowercase hex (16 digits per word):
    /// ids, API token secrets and participant link secrets.
    static func randomHex(words: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<words).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// SHA-256 of a text's UTF-8 bytes, as lowercase hex: how secrets, notices, provenance and
    /// audit events are fingerprinted.
    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks the shape of an id given by a user before it reaches a query.
    public static func validate(_ text: String, as kind: Kind) throws(StoreError) {
        let prefix = "\(kind.rawValue)_"
        let digits = text.dropFirst(prefix.count)
        guard text.hasPrefix(prefix), digits.count == 16, digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw .malformedIdentifier(kind: kind.noun, value: text)
        }
    }
}
