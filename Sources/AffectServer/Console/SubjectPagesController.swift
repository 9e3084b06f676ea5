import AffectCore
import AffectStore
import Foundation
import Hummingbird

/// Subject rights in the console: find a participant by id, download everything stored about them
/// (a POST: the export is recorded in the audit log), delete them. Allowed to whoever runs the
/// participant's study (``Permission/runStudy``).
struct SubjectPagesController {
    let store: PrivacyStore
    let templates: ConsoleTemplates

    struct SubjectsPage {
        var query: String
        var found: Found?
        var message: String?
        var deleted: String?
    }

    struct Found {
        var id: String
        var study: String
        var studyName: String
        var sessions: Int
        var consents: Int
        var withdrawn: Bool
    }

    func addRoutes(to root: Routes) {
        root.get("subjects") { request, context -> Response in
            let principal = try context.authorize(.runStudy)
            let query = (request.uri.queryParameters["participant"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
            var page = SubjectsPage(query: query, found: nil, message: nil,
                                    deleted: request.uri.queryParameters["deleted"].map(String.init))
            if !query.isEmpty {
                do {
                    let found = try await subject(query, principal: principal)
                    page.found = found
                } catch StoreError.unknownParticipant, StoreError.malformedIdentifier {
                    page.message = "No participant with that id in your studies."
                }
            }
            return try templates.page("subjects", title: "Subject rights", context: context, data: page)
        }
        root.post("subjects/:participant/export") { _, context -> Response in
            let principal = try context.authorize(.runStudy)
            let id = try context.parameters.require("participant")
            _ = try await subject(id, principal: principal)
            let export = try await store.exportSubject(participant: id, actor: principal.actor)
            let data = try AffectJSON.encoder().encode(export)
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store",
                                                   .contentDisposition: "attachment; filename=\"\(id).json\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        root.post("subjects/:participant/delete") { request, context -> Response in
            let principal = try context.authorize(.runStudy)
            let id = try context.parameters.require("participant")
            _ = try await subject(id, principal: principal)
            let form = try await SignInController.form(request)
            guard form["confirm"] == id else {
                throw HTTPError(.unprocessableContent, message: "Type the participant id to confirm the deletion: nothing was deleted.")
            }
            let deletion = try await store.deleteSubject(participant: id, actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/subjects?deleted=\(deletion.participant)")
        }
    }

    /// The participant, if the caller runs their study; an unknown id and another study's are one answer.
    private func subject(_ id: String, principal: Principal) async throws -> Found {
        try Identifier.validate(id, as: .participant)
        let summary = try await store.subjectSummary(participant: id)
        guard principal.reaches(study: summary.study.id) else { throw StoreError.unknownParticipant(id) }
        return Found(id: id, study: summary.study.id, studyName: summary.study.definition.name, sessions: summary.sessions,
                     consents: summary.consents.count, withdrawn: summary.consents.contains { $0.withdrawnAt != nil })
    }
}
