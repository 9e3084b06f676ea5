import AffectCore
import Foundation

extension PrivacyStore {
    /// A study's differential-privacy budget: its total ε and what releases have spent.
    public struct PrivacyBudget: Sendable, Hashable, Codable {
        public var total: Double
        public var spent: Double
        public var releases: Int
        public var remaining: Double { max(0, total - spent) }
    }

    /// The study's budget, or nil when it has none (no noised releases).
    public func privacyBudget(study reference: String) async throws -> PrivacyBudget? {
        try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            return try await self.budget(transaction, study: study)
        }
    }

    /// Records a release that spends `epsilon`, or refuses it (and records nothing) when the budget is
    /// not enough. Call before the noised numbers leave the process: a refused release shows nothing.
    public func spendPrivacyBudget(study reference: String, epsilon: Double, description: String,
                                   actor: String) async throws -> PrivacyBudget {
        do {
            try InputRules.epsilon(epsilon, field: "a release's ε")
        } catch {
            throw StoreError.invalidInput(error.description)
        }
        return try await database.transaction { transaction in
            let study = try await self.loadStudy(transaction, reference: reference)
            guard let budget = try await self.budget(transaction, study: study) else {
                throw StoreError.invalidInput("this study has no privacy budget (create it with one)")
            }
            // A release may use exactly what is left; rounding must not refuse the last one.
            guard budget.spent + epsilon <= budget.total + 1e-9 else {
                throw StoreError.privacyBudgetSpent(remaining: budget.remaining, asked: epsilon)
            }
            let id = Identifier.make(.release)
            try await transaction.execute(
                "INSERT INTO privacy_releases (id, study_id, released_at, epsilon, description) VALUES (?, ?, ?, ?, ?)",
                [.text(id), .text(study.id), .integer(Clock.nowMilliseconds()), .real(epsilon), .text(description)])
            try await self.audit(transaction, actor: actor, action: "privacy.release", subject: id, details: [
                "study": study.id, "epsilon": String(epsilon), "spent": String(budget.spent + epsilon),
                "total": String(budget.total), "release": description,
            ])
            return PrivacyBudget(total: budget.total, spent: budget.spent + epsilon, releases: budget.releases + 1)
        }
    }

    private func budget(_ transaction: any SQLTransaction, study: Study) async throws -> PrivacyBudget? {
        guard let total = study.definition.privacyBudget else { return nil }
        let rows = try await transaction.query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(epsilon), 0) AS spent FROM privacy_releases WHERE study_id = ?", [.text(study.id)])
        return PrivacyBudget(total: total, spent: rows.first?["spent"].double ?? 0, releases: rows.first?["n"].int ?? 0)
    }
}
