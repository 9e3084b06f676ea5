import AffectCore
import AffectStore
import Hummingbird

/// `/api/v1/studies`: create (admin) and read (admin, analyst) studies.
struct StudiesController {
    let store: PrivacyStore

    /// The body of `POST /api/v1/studies`; defaults as in `affect study create`.
    struct CreateRequest: Decodable {
        var name: String
        var purpose: String
        var context: StudyContext
        var exemption: ArticleFiveExemption?
        var mode: ProcessingMode?
        var retentionDays: Int?
        var k: Int?
        var excludedEmotions: [Emotion]?
        var windowSeconds: Double?
        var noticeVersion: String?
        var onWithdrawal: WithdrawalPolicy?
        var participantReadout: Bool?
        var privacyBudget: Double?
    }

    func addRoutes(to group: Routes) {
        group.post("") { request, context -> EditedResponse<Study> in
            let token = try context.require(.admin)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let definition = StudyDefinition(
                name: body.name, purpose: body.purpose, context: body.context, exemption: body.exemption,
                mode: body.mode ?? .individual, retentionDays: body.retentionDays ?? 30, kAnonymity: body.k ?? 5,
                excludedEmotions: try InputRules.expressions(body.excludedEmotions ?? [], field: "excluded_emotions"), windowMilliseconds: (body.windowSeconds ?? 10) * 1000,
                noticeVersion: body.noticeVersion ?? "1", onWithdrawal: body.onWithdrawal ?? .delete,
                participantReadout: body.participantReadout ?? false, privacyBudget: body.privacyBudget)
            let study = try await store.createStudy(definition, actor: "api:\(token.name)")
            return EditedResponse(status: .created, response: study)
        }
        group.get("") { _, context -> [Study] in
            _ = try context.require(.admin, .analyst)
            return try await store.studies()
        }
        group.get(":study") { _, context -> Study in
            _ = try context.require(.admin, .analyst)
            return try await store.study(try context.parameters.require("study"))
        }
        group.get(":study/notice") { _, context -> String in
            _ = try context.require(.admin, .analyst)
            return TransparencyNotice.text(for: try await store.study(try context.parameters.require("study")).definition)
        }
    }
}

extension Study: ResponseEncodable {}
