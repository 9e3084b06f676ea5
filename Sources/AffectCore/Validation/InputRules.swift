/// The shapes and ranges of everything a person types that Affect stores, or shows to somebody else:
/// names, the purpose participants read, k, link lifetimes, ε. One place, so the API, the CLI and
/// the store refuse the same things with the same words.
///
/// Messages are fixed: they name the field and the rule, never echo what was sent (a refused value
/// may be a megabyte long, or carry terminal escapes meant for whoever reads the log).
public enum InputRules {
    /// Why an input was refused.
    public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String

        init(_ description: String) {
            self.description = description
        }
    }

    /// Longest study, stimulus and token name.
    public static let maximumNameLength = 200
    /// Longest variant label or notice version.
    public static let maximumTagLength = 32
    /// Longest purpose text: what participants read before consenting.
    public static let maximumPurposeLength = 4000
    /// Most self-reported segment attributes per participant.
    public static let maximumSegmentAttributes = 10
    /// k-anonymity: below 2 nothing is anonymous; above this no study could ever release a cell.
    public static let kAnonymity: ClosedRange<Int> = 2...10_000
    /// Participant link lifetime in hours: at least a minute, at most a year.
    public static let invitationHours: ClosedRange<Double> = (1.0 / 60)...(24 * 366)
    /// Largest ε of one differentially private release, and of a study's whole budget.
    public static let maximumEpsilon = 10.0

    /// A one-line label: a study, stimulus or token name, a variant, a segment attribute.
    /// 1 to `maximum` characters once trimmed; no control characters, line breaks or text-direction controls.
    /// Characters are counted as Unicode code points, as JSON Schema's `maxLength` (the API document)
    /// counts them: a skin-tone modifier or a combining mark is one more, though it draws no new glyph.
    public static func label(_ text: String, field: String, maximum: Int = maximumNameLength) throws(Violation) {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty, text.unicodeScalars.count <= maximum else {
            throw Violation("\(field) must be 1 to \(maximum) characters")
        }
        if let scalar = text.unicodeScalars.first(where: { isControl($0) || isDirectionControl($0) || isLineBreak($0) }) {
            throw Violation("\(field) must not contain \(kind(of: scalar))")
        }
    }

    /// Prose shown to participants (a study's purpose): 1 to `maximum` characters; line breaks and tabs
    /// are allowed, other control characters and text-direction controls are not.
    public static func prose(_ text: String, field: String, maximum: Int = maximumPurposeLength) throws(Violation) {
        // Code points, as for labels.
        guard !text.trimmingWhitespace.isEmpty, text.unicodeScalars.count <= maximum else {
            throw Violation("\(field) must be 1 to \(maximum) characters")
        }
        let allowed: Set<UInt32> = [0x09, 0x0A, 0x0D]
        if let scalar = text.unicodeScalars.first(where: { (isControl($0) && !allowed.contains($0.value)) || isDirectionControl($0) }) {
            throw Violation("\(field) must not contain \(kind(of: scalar))")
        }
    }

    /// A study name: a label that cannot be mistaken for an id, since studies are looked up by either.
    public static func studyName(_ text: String) throws(Violation) {
        try label(text, field: "a study name")
        if looksLikeIdentifier(text) {
            throw Violation("a study name must not look like an id (two letters, an underscore and 16 hex digits)")
        }
    }

    /// Whether `text` has the shape of an Affect id (`st_` and 16 lowercase hex digits, or another kind's prefix).
    public static func looksLikeIdentifier(_ text: String) -> Bool {
        let parts = text.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[0].allSatisfy({ $0.isASCII && $0.isLowercase }),
              parts[1].count == 16 else { return false }
        return parts[1].allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// k-anonymity within ``kAnonymity``.
    public static func k(_ value: Int) throws(Violation) {
        guard kAnonymity.contains(value) else {
            throw Violation("k must be \(kAnonymity.lowerBound) to \(kAnonymity.upperBound)")
        }
    }

    /// A link lifetime within ``invitationHours``.
    public static func hours(_ value: Double) throws(Violation) {
        guard value.isFinite, invitationHours.contains(value) else {
            throw Violation("a link's lifetime must be 1 minute to 366 days (hours: 0.0167 to 8784)")
        }
    }

    /// ε of a release or a budget: above 0, at most ``maximumEpsilon``.
    public static func epsilon(_ value: Double, field: String) throws(Violation) {
        guard value.isFinite, value > 0, value <= maximumEpsilon else {
            throw Violation("\(field) must be above 0 and at most \(Int(maximumEpsilon))")
        }
    }

    /// A list of expressions (opt-outs, exclusions): each at most once, so what was sent is what is kept.
    public static func expressions(_ list: [Emotion], field: String) throws(Violation) -> Set<Emotion> {
        let distinct = Set(list)
        guard distinct.count == list.count else { throw Violation("\(field) lists an expression more than once") }
        return distinct
    }

    /// Characters of segment attribute names and values: they become report column headers and CSV cells.
    static let segmentCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.+")

    /// Self-reported segment attributes (`age=25-34`): at most ``maximumSegmentAttributes``, names and
    /// values of 1 to 64 letters, digits, spaces or `_-.+`.
    public static func segment(_ attributes: [String: String]) throws(Violation) {
        guard attributes.count <= maximumSegmentAttributes else {
            throw Violation("at most \(maximumSegmentAttributes) segment attributes")
        }
        for (key, value) in attributes {
            for text in [key, value] where text.isEmpty || text.count > 64 || !text.allSatisfy(segmentCharacters.contains) {
                throw Violation("segment attributes must be 1 to 64 letters, digits, spaces or _-.+")
            }
        }
    }

    // MARK: Character classes

    /// C0 and C1 controls (NUL, ESC of terminal escapes, DEL...).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Marks and embeddings that reorder displayed text (the "Trojan Source" characters).
    static func isDirectionControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0x85
    }

    static func kind(of scalar: Unicode.Scalar) -> String {
        isDirectionControl(scalar) ? "text-direction control characters"
            : isLineBreak(scalar) || scalar == "\n" || scalar == "\r" ? "line breaks" : "control characters"
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return Substring(scalars[first...last])
    }
}
