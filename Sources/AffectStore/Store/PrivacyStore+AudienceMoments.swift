import AffectCore
import Foundation

extension PrivacyStore {
    /// An audience-level moment found in a study's report, and what a reviewer decided about it.
    /// Nothing in Affect acts on a moment; the review is the record of a person's judgement.
    public struct AudienceMomentReview: Sendable, Hashable, Codable {
        public enum Status: String, Sendable, Codable, CaseIterable { case pending, confirmed, dismissed }

        public var id: String
        public var studyID: String
        /// Empty for sessions without a stimulus.
        public var stimulusID: String
        public var expression: Emotion
        public var onsetMs: Double
        public var peakMs: Double
        public var durationMs: Double
        public var peak: Double
        public var share: Double
        public var status: Status
        public var foundAt: Int64
        public var reviewedAt: Int64?
        public var reviewer: String?
        public var note: String?

        init(row: SQLRow) throws {
            id = try row.text("id")
            studyID = try row.text("study_id")
            stimulusID = try row.text("stimulus_id")
            expression = try Emotion(rawValue: row.text("expression")).orThrow(column: "expression")
            onsetMs = try row.real("onset_ms")
            peakMs = try row.real("peak_ms")
            durationMs = try row.real("duration_ms")
            peak = try row.real("peak")
            share = try row.real("share")
            status = try Status(rawValue: row.text("status")).orThrow(column: "status")
            foundAt = try row.integer("found_at")
            reviewedAt = row["reviewed_at"].int64
            reviewer = row["reviewer"].string
            note = row["note"].string
        }
    }

    /// A moment as a report finds it.
    public struct AudienceMomentCandidate: Sendable {
        public var stimulusID: String?
        public var expression: Emotion
        public var onsetMs: Double
        public var peakMs: Double
        public var durationMs: Double
        public var peak: Double
        public var share: Double

        public init(stimulusID: String?, expression: Emotion, onsetMs: Double, peakMs: Double, durationMs: Double, peak: Double,
                    share: Double) {
            self.stimulusID = stimulusID
            self.expression = expression
            self.onsetMs = onsetMs
            self.peakMs = peakMs
            self.durationMs = durationMs
            self.peak = peak
            self.share = share
        }
    }

    /// Queues the moments not seen before (same stimulus, expression and onset) as pending, and
    /// returns the study's reviews of these moments, in the candidates' order.
    public func queueAudienceMoments(study reference: String, _ candidates: [AudienceMomentCandidate]) async throws -> [AudienceMomentReview] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            var reviews: [AudienceMomentReview] = []
            for candidate in candidates {
                let key = Self.momentKey(study: study.id, candidate)
                // Concurrent queueings of one moment insert it once (the table's unique key decides).
                try await transaction.execute(
                    """
                    INSERT INTO audience_moments (id, study_id, stimulus_id, expression, onset_ms, peak_ms, duration_ms, peak, share,
                        status, found_at, reviewed_at, reviewer, note)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, NULL)
                    ON CONFLICT (study_id, stimulus_id, expression, onset_ms) DO NOTHING
                    """,
                    [.text(Identifier.make(.audienceMoment))] + key
                        + [.real(candidate.peakMs), .real(candidate.durationMs), .real(candidate.peak), .real(candidate.share),
                           .integer(Clock.nowMilliseconds())])
                if let row = try await transaction.query(Self.findMoment, key).first { reviews.append(try AudienceMomentReview(row: row)) }
            }
            return reviews
        }
    }

    /// The study's reviews of these moments where they are queued (nil where not), in the candidates'
    /// order; reads only.
    public func audienceMomentReviews(study reference: String,
                                      _ candidates: [AudienceMomentCandidate]) async throws -> [AudienceMomentReview?] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            var reviews: [AudienceMomentReview?] = []
            for candidate in candidates {
                reviews.append(try await transaction.query(Self.findMoment, Self.momentKey(study: study.id, candidate))
                    .first.map(AudienceMomentReview.init(row:)))
            }
            return reviews
        }
    }

    private static let findMoment = "SELECT * FROM audience_moments WHERE study_id = ? AND stimulus_id = ? AND expression = ? AND onset_ms = ?"

    private static func momentKey(study: String, _ candidate: AudienceMomentCandidate) -> [SQLValue] {
        [.text(study), .text(candidate.stimulusID ?? ""), .text(candidate.expression.rawValue), .real(candidate.onsetMs)]
    }

    /// A study's audience moments, oldest first.
    public func audienceMoments(study reference: String) async throws -> [AudienceMomentReview] {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query("SELECT * FROM audience_moments WHERE study_id = ? ORDER BY found_at, id",
                                               [.text(study.id)]).map(AudienceMomentReview.init(row:))
        }
    }

    /// Records a reviewer's decision (confirmed or dismissed); audited.
    public func reviewAudienceMoment(_ id: String, decision: AudienceMomentReview.Status, note: String?,
                                     actor: String) async throws -> AudienceMomentReview {
        try Identifier.validate(id, as: .audienceMoment)
        guard decision != .pending else { throw StoreError.invalidInput("a review confirms or dismisses") }
        if let note, !note.isEmpty {
            do {
                try InputRules.prose(note, field: "a review note", maximum: 2000)
            } catch {
                throw StoreError.invalidInput(error.description)
            }
        }
        return try await database.transaction { transaction in
            guard try await transaction.query("SELECT id FROM audience_moments WHERE id = ?", [.text(id)]).first != nil else {
                throw StoreError.invalidInput("no such audience moment in this study")
            }
            try await transaction.execute("UPDATE audience_moments SET status = ?, reviewed_at = ?, reviewer = ?, note = ? WHERE id = ?",
                                          [.text(decision.rawValue), .integer(Clock.nowMilliseconds()), .text(actor), SQLValue(note),
                                           .text(id)])
            try await self.audit(transaction, actor: actor, action: "moment.review", subject: id,
                                 details: ["decision": decision.rawValue, "note": note ?? ""])
            guard let row = try await transaction.query("SELECT * FROM audience_moments WHERE id = ?", [.text(id)]).first else {
                throw StoreError.invalidInput("no such audience moment in this study")
            }
            return try AudienceMomentReview(row: row)
        }
    }
}
