import AffectStore
import Hummingbird

/// `/api/v1/tokens` (``Permission/administer``): API tokens for scripts. A new token's secret is in the
/// answer once and stored only as SHA-256; a token other than an admin's reaches the studies it is given.
struct TokensController {
    let store: PrivacyStore

    struct CreateRequest: Decodable {
        var name: String?
        var role: Role
        var studies: [String]?
    }

    struct Created: ResponseEncodable {
        var token: PrivacyStore.APIToken
        var studies: [String]
        /// The secret: send it as `Authorization: Bearer SECRET`. Shown this once.
        var secret: String
    }

    func addRoutes(to group: Routes) {
        group.get("") { _, context -> [PrivacyStore.APIToken] in
            try context.authorize(.administer)
            return try await store.tokens()
        }
        group.post("") { request, context -> EditedResponse<Created> in
            let principal = try context.authorize(.administer)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let studies = body.role == .admin ? [] : (body.studies ?? [])
            let (token, secret) = try await store.createToken(name: body.name ?? body.role.rawValue, role: body.role, studies: body.studies ?? [],
                                                              actor: principal.actor)
            return EditedResponse(status: .created, response: Created(token: token, studies: studies, secret: secret))
        }
        group.post(":token/revoke") { _, context -> PrivacyStore.APIToken in
            let principal = try context.authorize(.administer)
            return try await store.revokeToken(try context.parameters.require("token"), actor: principal.actor)
        }
    }
}

extension PrivacyStore.APIToken: ResponseEncodable {}
