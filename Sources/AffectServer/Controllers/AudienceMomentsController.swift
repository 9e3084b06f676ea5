import AffectReport
import AffectStore
import Hummingbird

/// `/api/v1/studies/:study/audience-moments` (``Permission/reviewMoments``): the queue of audience-level moments
/// awaiting a person's review. Finding and queueing moments is a POST: reading a report or the
/// queue changes nothing.
struct AudienceMomentsController {
    let store: PrivacyStore

    struct Review: Decodable {
        var decision: String
        var note: String?
    }

    func addRoutes(to group: Routes) {
        group.get(":study/audience-moments") { _, context -> [PrivacyStore.AudienceMomentReview] in
            let (_, study) = try await context.authorize(.readResults, .reviewMoments, study: try context.parameters.require("study"), store: store)
            return try await store.audienceMoments(study: study.id)
        }
        // Finds the study's moments in its stored results and queues those not seen before; a repeat
        // queues nothing new, so a retry is harmless.
        group.post(":study/audience-moments") { _, context -> [PrivacyStore.AudienceMomentReview] in
            let (_, study) = try await context.authorize(.runStudy, .reviewMoments, study: try context.parameters.require("study"), store: store)
            return try await StudyReport.queueMoments(store: store, study: study.id)
        }
        group.post(":study/audience-moments/:moment") { request, context -> PrivacyStore.AudienceMomentReview in
            let (principal, study) = try await context.authorize(.reviewMoments, study: try context.parameters.require("study"), store: store)
            let body = try await request.decodeJSON(as: Review.self, context: context)
            guard let decision = PrivacyStore.AudienceMomentReview.Status(rawValue: body.decision), decision != .pending else {
                throw HTTPError(.badRequest, message: "decision is confirmed or dismissed")
            }
            let id = try context.parameters.require("moment")
            guard try await store.audienceMoments(study: study.id).contains(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no such audience moment in this study")
            }
            return try await store.reviewAudienceMoment(id, decision: decision, note: body.note, actor: principal.actor)
        }
    }
}

extension PrivacyStore.AudienceMomentReview: ResponseEncodable {}
