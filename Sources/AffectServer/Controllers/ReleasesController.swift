import AffectCore
import AffectReport
import AffectStore
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/v1/studies/:study/releases` (``Permission/runStudy``): a differentially private release of a study's
/// segment comparison, which spends ε from the study's budget.
///
/// A release spends, so it is a POST that only those who run the study may make, recorded with who made it. A retry
/// is harmless when it carries the first request's `Idempotency-Key`: it gets the first release's
/// numbers and spends nothing again. A release that would overspend is refused with 403 and what is
/// left; a release with no cell of at least k participants publishes nothing and spends nothing.
struct ReleasesController {
    let store: PrivacyStore

    struct Request: Decodable {
        var segmentBy: String
        var epsilon: Double
    }

    struct Answer: ResponseEncodable {
        struct Release: Encodable {
            var id: String
            var epsilon: Double
            var releasedAt: Int64
            var actor: String?
        }

        /// Nil when no cell could be published: nothing was spent.
        var release: Release?
        var budget: PrivacyStore.PrivacyBudget
        var segments: SegmentTable
        var note: String
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    func addRoutes(to group: Routes) {
        group.post(":study/releases") { request, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let body = try await request.decodeJSON(as: Request.self, context: context)
            do throws(InputRules.Violation) {
                try InputRules.segment([body.segmentBy: "x"])
                try InputRules.epsilon(body.epsilon, field: "epsilon")
            } catch {
                throw HTTPError(.unprocessableContent, message: error.description)
            }
            let outcome = try await StudyReport.releaseSegments(
                store: store, study: study.id, segmentBy: body.segmentBy, epsilon: body.epsilon,
                idempotencyKey: request.headers[Self.idempotencyKey], actor: principal.actor)
            let answer = Answer(
                release: outcome.release.map { .init(id: $0.id, epsilon: $0.epsilon, releasedAt: $0.releasedAt, actor: $0.actor) },
                budget: outcome.budget, segments: outcome.table,
                note: outcome.release == nil
                    ? "Nothing released and no ε spent: every cell has fewer participants than the study's k."
                    : "Means with Laplace noise; each row states the noise scale of each mean. The same numbers are "
                        + "returned for a retry with this Idempotency-Key.")
            var response = try answer.response(from: request, context: context)
            // 201 for a release made now; 200 when nothing was made (a replay, or nothing to publish).
            if outcome.release != nil && !outcome.replayed { response.status = .created }
            return response
        }
    }
}
