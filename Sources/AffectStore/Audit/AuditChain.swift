import Foundation

/// The hash chain over audit events.
///
/// Each event's hash covers its own fields and the previous event's hash, so editing,
/// inserting or deleting an event in the middle breaks every hash after it, and
/// ``verify(_:)`` names the first event that no longer matches. (Removing events from
/// the end is not detectable from the chain alone; exporting the head hash elsewhere
/// closes that gap.)
public enum AuditChain {
    /// The previous hash of the first event.
    public static let genesis = String(repeating: "0", count: 64)

    static func hash(sequence: Int64, at: Int64, actor: String, action: String, subject: String, details: String,
                     previousHash: String) -> String {
        // Fields joined by a separator that cannot occur in them unescaped (newlines are JSON-escaped in details).
        let text = [String(sequence), String(at), actor, action, subject, details, previousHash].joined(separator: "\u{1F}")
        return Identifier.sha256Hex(text)
    }

    /// The outcome of checking a chain.
    public enum Verification: Sendable, Hashable {
        case intact(events: Int, head: String)
        case broken(sequence: Int64, reason: String)
    }

    /// Checks events in sequence order.
    public static func verify(_ events: [AuditEvent]) -> Verification {
        var previous = genesis
        var expectedSequence: Int64 = 1
        for event in events {
            if event.sequence != expectedSequence {
                return .broken(sequence: event.sequence, reason: "expected event \(expectedSequence) here: events are missing")
            }
            if event.previousHash != previous {
                return .broken(sequence: event.sequence, reason: "its link to the previous event does not match")
            }
            let recomputed = hash(sequence: event.sequence, at: event.at, actor: event.actor, action: event.action,
                                  subject: event.subject, details: event.details, previousHash: event.previousHash)
            if recomputed != event.hash {
                return .broken(sequence: event.sequence, reason: "its content does not match its hash (edited)")
            }
            previous = event.hash
            expectedSequence += 1
        }
        return .intact(events: events.count, head: previous)
    }

    /// Details as canonical JSON (sorted keys), so the hashed text is reproducible.
    static func details(_ values: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(values), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }
}
