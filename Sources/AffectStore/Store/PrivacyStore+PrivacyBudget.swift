import AffectCore
import Foundation

extension PrivacyStore {
    /// A study's differential-privacy budget: its total ε and what releases have spent.
    public struct PrivacyBudget: Sendable, Hashable, Codable {
        public var total: Double
        public var spent: Double
        public var releases: Int
        public var remaining: Double { max(0, total - spent) }

        private enum CodingKeys: String, CodingKey { case total, spent, releases, remaining }

        public init(total: Double, spent: Double, releases: Int) {
            self.total = total
            self.spent = spent
            self.releases = releases
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(total: try container.decode(Double.self, forKey: .total), spent: try container.decode(Double.self, forKey: .spent),
                      releases: try container.decode(Int.self, forKey: .releases))
        }

        /// With what is left, so a caller need not subtract.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(total, forKey: .total)
            try container.encode(spent, forKey: .spent)
            try container.encode(releases, forKey: .releases)
            try container.encode(remaining, forKey: .remaining)
        }
    }

    /// The study's budget, or nil when it has none (no noised releases).
    public func privacyBudget(study reference: String) async throws -> PrivacyBudget? {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await self.budget(transaction, study: study)
        }
    }

    /// A noised release of a study's numbers, as recorded when it spent budget.
    public struct PrivacyRelease: Sendable, Hashable, Codable {
        public var id: String
        public var studyID: String
        public var releasedAt: Int64
        public var epsilon: Double
        /// What was released, in words (`segments by age`): a retry must ask for the same.
        public var description: String
        public var actor: String?
        public var idempotencyKey: String?
        /// What was released, exactly as first returned (JSON); nil for releases recorded before it was kept.
        public var content: String?

        init(row: SQLRow) throws {
            id = try row.text("id")
            studyID = try row.text("study_id")
            releasedAt = try row.integer("released_at")
            epsilon = try row.real("epsilon")
            description = try row.text("description")
            actor = row["actor"].string
            idempotencyKey = row["idempotency_key"].string
            content = row["content"].string
        }
    }

    /// The longest `Idempotency-Key` kept.
    public static let maximumIdempotencyKeyLength = 128

    /// Records a release that spends `epsilon` with what it released, or refuses it (and records
    /// nothing) when the budget is not enough. Call before the noised numbers leave the process: a
    /// refused release shows nothing.
    ///
    /// With an `idempotencyKey` already used for this study, nothing is spent again: the release
    /// recorded under the key is returned (`replayed`), so a retried request gets the numbers the first
    /// one got, not a fresh draw of noise (which would spend privacy the budget does not count). The
    /// study's row is locked first, so concurrent releases take turns and each sees what the others
    /// spent: the budget holds on PostgreSQL as on SQLite.
    public func recordRelease(study reference: String, epsilon: Double, description: String, content: String,
                              idempotencyKey: String?, actor: String) async throws
        -> (release: PrivacyRelease, budget: PrivacyBudget, replayed: Bool) {
        do {
            try InputRules.epsilon(epsilon, field: "a release's ε")
        } catch {
            throw StoreError.invalidInput(error.description)
        }
        if let idempotencyKey {
            guard (1...Self.maximumIdempotencyKeyLength).contains(idempotencyKey.utf8.count),
                  idempotencyKey.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
                throw StoreError.invalidInput("an Idempotency-Key is 1 to \(Self.maximumIdempotencyKeyLength) visible ASCII characters")
            }
        }
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            _ = try await transaction.query("SELECT id FROM studies WHERE id = ?" + transaction.forUpdate, [.text(study.id)])
            guard let budget = try await self.budget(transaction, study: study) else {
                throw StoreError.invalidInput("this study has no privacy budget (create it with one)")
            }
            if let idempotencyKey, let row = try await transaction.query(
                "SELECT * FROM privacy_releases WHERE study_id = ? AND idempotency_key = ?", [.text(study.id), .text(idempotencyKey)]).first {
                let earlier = try PrivacyRelease(row: row)
                guard earlier.epsilon == epsilon, earlier.description == description else {
                    throw StoreError.invalidInput("this Idempotency-Key was used for a different release")
                }
                return (earlier, budget, true)
            }
            // A release may use exactly what is left; rounding must not refuse the last one.
            guard budget.spent + epsilon <= budget.total + 1e-9 else {
                throw StoreError.privacyBudgetSpent(remaining: budget.remaining, asked: epsilon)
            }
            let id = Identifier.make(.release)
            try await transaction.execute(
                """
                INSERT INTO privacy_releases (id, study_id, released_at, epsilon, description, actor, idempotency_key, content)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(id), .text(study.id), .integer(Clock.nowMilliseconds()), .real(epsilon), .text(description), .text(actor),
                 SQLValue(idempotencyKey), .text(content)])
            try await self.audit(transaction, actor: actor, action: "privacy.release", subject: id, details: [
                "study": study.id, "epsilon": String(epsilon), "spent": String(budget.spent + epsilon),
                "total": String(budget.total), "release": description,
            ])
            guard let row = try await transaction.query("SELECT * FROM privacy_releases WHERE id = ?", [.text(id)]).first else {
                throw StoreError.corruptRow(column: "privacy_releases.id")
            }
            return (try PrivacyRelease(row: row),
                    PrivacyBudget(total: budget.total, spent: budget.spent + epsilon, releases: budget.releases + 1), false)
        }
    }

    /// The study's latest release described as `description` that kept what it released.
    public func latestRelease(study reference: String, description: String) async throws -> PrivacyRelease? {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await transaction.query(
                """
                SELECT * FROM privacy_releases WHERE study_id = ? AND description = ? AND content IS NOT NULL
                ORDER BY released_at DESC, id DESC LIMIT 1
                """, [.text(study.id), .text(description)]).first.map(PrivacyRelease.init(row:))
        }
    }

    private func budget(_ transaction: any SQLTransaction, study: Study) async throws -> PrivacyBudget? {
        guard let total = study.definition.privacyBudget else { return nil }
        let rows = try await transaction.query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(epsilon), 0) AS spent FROM privacy_releases WHERE study_id = ?", [.text(study.id)])
        return PrivacyBudget(total: total, spent: rows.first?["spent"].double ?? 0, releases: rows.first?["n"].int ?? 0)
    }
}
