import AffectStore
import Hummingbird

/// `/api/v1/studies/:study/stimuli`: register (admin) and list (admin, analyst) a study's stimuli.
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
            let token = try context.require(.admin)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let stimulus = try await store.addStimulus(study: try context.parameters.require("study"), name: body.name,
                                                       variant: body.variant ?? "A",
                                                       source: try StimulusSource(webAddress: body.source),
                                                       actor: "api:\(token.name)")
            return EditedResponse(status: .created, response: stimulus)
        }
        group.get(":study/stimuli") { _, context -> [Stimulus] in
            _ = try context.require(.admin, .analyst)
            return try await store.stimuli(study: try context.parameters.require("study"))
        }
    }
}

extension Stimulus: ResponseEncodable {}
