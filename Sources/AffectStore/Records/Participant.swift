import Foundation
import AffectCore

/// A pseudonymous participant of one study. Nothing about the person is stored here.
public struct Participant: Sendable, Hashable, Codable {
    public var id: String
    public var studyID: String
    /// Expressions this participant asked not to be measured (beyond the study's own).
    public var excludedEmotions: Set<Emotion>
    /// Self-reported segment attributes (e.g. `age: 25-34`), present only with consent to `segment-attributes`.
    public var segment: [String: String]?
    public var createdAt: Int64

    init(row: SQLRow) throws {
        id = try row.text("id")
        studyID = try row.text("study_id")
        excludedEmotions = try EmotionList.decode(row.text("excluded_emotions"))
        segment = try row["segment"].string.map { try SegmentAttributes.decode($0) }
        createdAt = try row.integer("created_at")
    }
}

/// A consent record: which notice the participant saw, what they agreed to, when, and whether they withdrew.
public struct Consent: Sendable, Hashable, Codable {
    public var id: String
    public var participantID: String
    public var noticeVersion: String
    /// SHA-256 of the exact notice text shown, so the wording agreed to can be proven later.
    public var noticeSHA256: String
    public var purposes: [String]
    public var grantedAt: Int64
    public var withdrawnAt: Int64?

    /// The purpose every consent must include for faces to be analysed at all.
    public static let analysisPurpose = "expression-analysis"
    /// The purpose that allows self-reported segment attributes to be stored.
    public static let segmentPurpose = "segment-attributes"
    /// In a study analysed on the device: the participant's explicit agreement that their camera frames
    /// go to the server instead (its fallback for browsers that cannot analyse on the device).
    public static let serverAnalysisPurpose = "frames-to-server"

    init(row: SQLRow) throws {
        id = try row.text("id")
        participantID = try row.text("participant_id")
        noticeVersion = try row.text("notice_version")
        noticeSHA256 = try row.text("notice_sha256")
        purposes = try row.text("purposes").split(separator: ",").map(String.init)
        grantedAt = try row.integer("granted_at")
        withdrawnAt = row["withdrawn_at"].int64
    }
}

/// Self-reported attributes for segment comparisons: a few short, plain key/value pairs.
public enum SegmentAttributes {
    /// Checks attributes before they are stored (``InputRules/segment(_:)``).
    public static func validate(_ attributes: [String: String]) throws(StoreError) {
        do {
            try InputRules.segment(attributes)
        } catch {
            throw .invalidInput(error.description)
        }
    }

    static func encode(_ attributes: [String: String]) -> String {
        AuditChain.details(attributes)
    }

    static func decode(_ text: String) throws -> [String: String] {
        guard let data = text.data(using: .utf8),
              let decoded = try? JSONDecoder().decode([String: String].self, from: data) else {
            throw StoreError.corruptRow(column: "segment")
        }
        return decoded
    }
}
