import AffectStore
import Hummingbird

/// `/api/v1/studies/:study/invitations` (``Permission/runStudy``): single-use participant links: make
/// one, list them with their states, revoke an unused one.
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
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let (invitation, secret) = try await store.createInvitation(
                study: study.id, stimulus: body.stimulusId, hours: body.hours ?? 72, actor: principal.actor)
            return EditedResponse(status: .created, response: Created(invitation: invitation, path: "/p/\(secret)"))
        }
        group.get(":study/invitations") { _, context -> [PrivacyStore.LinkStatus] in
            let (_, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            return try await store.linkStatuses(study: study.id)
        }
        group.post(":study/invitations/:invitation/revoke") { _, context -> HTTPResponse.Status in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            try await store.revokeInvitation(study: study.id, invitation: try context.parameters.require("invitation"),
                                             actor: principal.actor)
            return .noContent
        }
    }
}

extension PrivacyStore.LinkStatus: ResponseEncodable {}
