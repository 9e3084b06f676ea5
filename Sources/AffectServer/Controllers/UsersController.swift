import AffectStore
import Hummingbird

/// `/api/v1/users` (``Permission/administer``): the people who sign in to the console.
struct UsersController {
    let store: PrivacyStore

    struct CreateRequest: Decodable {
        var name: String
        var role: Role
        var password: String
    }

    func addRoutes(to group: Routes) {
        group.get("") { _, context -> [PrivacyStore.User] in
            try context.authorize(.administer)
            return try await store.users()
        }
        group.post("") { request, context -> EditedResponse<PrivacyStore.User> in
            let principal = try context.authorize(.administer)
            let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
            let user = try await store.addUser(name: body.name, role: body.role, password: body.password, actor: principal.actor)
            return EditedResponse(status: .created, response: user)
        }
        group.post(":user/disable") { _, context -> PrivacyStore.User in
            let principal = try context.authorize(.administer)
            return try await store.disableUser(try context.parameters.require("user"), actor: principal.actor)
        }
    }
}

/// `/api/v1/studies/:study/access` (``Permission/runStudy``): who else reaches a study. Its researcher
/// (or an admin) gives it to a user or a token by name or id, and takes it back.
struct StudyAccessController {
    let store: PrivacyStore

    struct Grantee: ResponseEncodable, Decodable {
        /// A user's or a token's id, or (when giving) a user's name.
        var grantee: String
    }

    func addRoutes(to group: Routes) {
        group.get(":study/access") { _, context -> [Grantee] in
            let (_, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            return try await store.grantees(study: study.id).map(Grantee.init)
        }
        group.post(":study/access") { request, context -> EditedResponse<Grantee> in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let body = try await request.decodeJSON(as: Grantee.self, context: context)
            let id = body.grantee.hasPrefix("tk_") ? body.grantee : try await store.user(body.grantee).id
            try await store.grantAccess(study: study.id, to: id, actor: principal.actor)
            return EditedResponse(status: .created, response: Grantee(grantee: id))
        }
        group.post(":study/access/:grantee/revoke") { _, context -> HTTPResponse.Status in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            try await store.revokeAccess(study: study.id, from: try context.parameters.require("grantee"), actor: principal.actor)
            return .noContent
        }
    }
}

extension PrivacyStore.User: ResponseEncodable {}
