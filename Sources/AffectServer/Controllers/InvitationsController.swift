import AffectStore
import Hummingbird

/// `POST /api/v1/studies/:study/invitations` (admin): a single-use participant link.
struct InvitationsController {
    let store: PrivacyStore

    struct CreateRequest: Decodable {
        var stimulusId: String?
        var hours: Double?
    }

    struct Created: ResponseEncodable {
        var invitation: PrivacyStore.Invitation
        /// The participant's link, relative to the server; it carries the secret and is shown once.
        var path: String
    }

    func addRoutes(to group: Routes) {
        group.post(":study/invitations") { request, context -> EditedResponse<Created> in
            let token = try context.require(.admin)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let (invitation, secret) = try await store.createInvitation(
                study: try context.parameters.require("study"), stimulus: body.stimulusId, hours: body.hours ?? 72,
                actor: "api:\(token.name)")
            return EditedResponse(status: .created, response: Created(invitation: invitation, path: "/p/\(secret)"))
        }
    }
}
