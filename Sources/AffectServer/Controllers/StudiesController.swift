import AffectCore
import AffectStore
import Hummingbird

/// `/api/v1/studies`: create studies (``Permission/createStudies``; a researcher's study is given to
/// them), and read those the caller reaches.
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
        var measures: Bool?
        var analysis: AnalysisLocation?
        var deviceFallback: Bool?
        var deviceFps: Double?
        var transport: CaptureTransport?
        var captureFps: Double?
        var everyFrame: Bool?
    }

    func addRoutes(to group: Routes) {
        group.post("") { request, context -> EditedResponse<Study> in
            let principal = try context.authorize(.createStudies)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let definition = StudyDefinition(
                name: body.name, purpose: body.purpose, context: body.context, exemption: body.exemption,
                mode: body.mode ?? .individual, retentionDays: body.retentionDays ?? 30, kAnonymity: body.k ?? 5,
                excludedEmotions: try InputRules.expressions(body.excludedEmotions ?? [], field: "excluded_emotions"), windowMilliseconds: (body.windowSeconds ?? 10) * 1000,
                noticeVersion: body.noticeVersion ?? "1", onWithdrawal: body.onWithdrawal ?? .delete,
                participantReadout: body.participantReadout ?? false, privacyBudget: body.privacyBudget,
                measures: body.measures ?? false, analysis: body.analysis ?? .server,
                deviceFallback: body.deviceFallback ?? false, deviceFramesPerSecond: body.deviceFps,
                transport: body.transport ?? .jpeg, captureFramesPerSecond: body.captureFps, everyFrame: body.everyFrame ?? false)
            let study = try await store.createStudy(definition, owner: principal.role == .admin ? nil : principal.id,
                                                    actor: principal.actor)
            return EditedResponse(status: .created, response: study)
        }
        group.get("") { _, context -> [Study] in
            let principal = try context.authorize(.readResults, .reviewMoments)
            return try await store.studies().filter { principal.reaches(study: $0.id) }
        }
        group.get(":study") { _, context -> Study in
            try await context.authorize(.readResults, .reviewMoments, study: try context.parameters.require("study"), store: store).1
        }
        group.get(":study/notice") { _, context -> String in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            return TransparencyNotice.text(for: study.definition)
        }
    }
}

extension Study: ResponseEncodable {}
