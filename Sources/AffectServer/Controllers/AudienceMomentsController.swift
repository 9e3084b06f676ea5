import AffectReport
import AffectStore
import Hummingbird

/// `/api/v1/studies/:study/audience-moments` (admin, analyst): the queue of audience-level moments
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
            _ = try context.require(.admin, .analyst)
            return try await store.audienceMoments(study: try context.parameters.require("study"))
        }
        // Finds the study's moments in its stored results and queues those not seen before; a repeat
        // queues nothing new, so a retry is harmless.
        group.post(":study/audience-moments") { _, context -> [PrivacyStore.AudienceMomentReview] in
            _ = try context.require(.admin, .analyst)
            return try await StudyReport.queueMoments(store: store, study: try context.parameters.require("study"))
        }
        group.post(":study/audience-moments/:moment") { request, context -> PrivacyStore.AudienceMomentReview in
            let token = try context.require(.admin, .analyst)
            let body = try await request.decodeJSON(as: Review.self, context: context)
            guard let decision = PrivacyStore.AudienceMomentReview.Status(rawValue: body.decision), decision != .pending else {
                throw HTTPError(.badRequest, message: "decision is confirmed or dismissed")
            }
            let id = try context.parameters.require("moment")
            let study = try await store.study(try context.parameters.require("study"))
            guard try await store.audienceMoments(study: study.id).contains(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no such audience moment in this study")
            }
            return try await store.reviewAudienceMoment(id, decision: decision, note: body.note, actor: "api:\(token.name)")
        }
    }
}

extension PrivacyStore.AudienceMomentReview: ResponseEncodable {}
