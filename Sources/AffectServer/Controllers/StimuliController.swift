import AffectStore
import Hummingbird

/// `/api/v1/studies/:study/stimuli`: register (``Permission/runStudy``) and list a study's stimuli.
/// A stimulus registered here is a web address the participant page plays; files are uploaded
/// (``StimulusUploadController``), never named by a server path.
struct StimuliController {
    let store: PrivacyStore

    struct CreateRequest: Decodable {
        var name: String
        var variant: String?
        var source: String
    }

    func addRoutes(to group: Routes) {
        group.post(":study/stimuli") { request, context -> EditedResponse<Stimulus> in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let stimulus = try await store.addStimulus(study: study.id, name: body.name,
                                                       variant: body.variant ?? "A",
                                                       source: try StimulusSource(webAddress: body.source),
                                                       actor: principal.actor)
            return EditedResponse(status: .created, response: stimulus)
        }
        group.get(":study/stimuli") { _, context -> [Stimulus] in
            let (_, study) = try await context.authorize(.readResults, .reviewMoments, study: try context.parameters.require("study"), store: store)
            return try await store.stimuli(study: study.id)
        }
    }
}

extension Stimulus: ResponseEncodable {}
