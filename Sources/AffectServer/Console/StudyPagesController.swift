import AffectCore
import AffectStore
import Foundation
import Hummingbird

/// The console's study pages: the list, a new study (with the participant notice previewed and the
/// AI Act refusal shown in words), and one study's page: stimuli, participant links, who has access.
/// Every change goes through the same store calls and the same ``Permission`` checks as the API.
struct StudyPagesController {
    let store: PrivacyStore
    let templates: ConsoleTemplates

    struct StudyRow {
        var id: String
        var name: String
        var purpose: String
        var mode: String
        var created: String
    }

    struct StudiesPage {
        var studies: [StudyRow]
        var empty: Bool
        var mayCreate: Bool
    }

    struct Choice {
        var value: String
        var label: String
        var selected: Bool
    }

    /// The new-study form, its values kept when it comes back with a message or a preview.
    struct NewStudyPage {
        var name = ""
        var purpose = ""
        var contexts: [Choice] = []
        var exemptions: [Choice] = []
        var modes: [Choice] = []
        var withdrawals: [Choice] = []
        var expressions: [Choice] = []
        var retention = "30"
        var k = "5"
        var budget = ""
        var readout = false
        var measures = false
        var analyses: [Choice] = []
        var fallback = false
        var deviceFps = ""
        var transports: [Choice] = []
        var captureFps = ""
        var everyFrame = false
        var message: String?
        var notice: String?
    }

    func addRoutes(to root: Routes) {
        root.get("studies") { _, context -> Response in
            let principal = try context.authorize(.readResults, .reviewMoments)
            let rows = try await store.studies().filter { principal.reaches(study: $0.id) }.reversed().map { study in
                StudyRow(id: study.id, name: study.definition.name, purpose: study.definition.purpose,
                         mode: study.definition.mode.rawValue, created: ConsoleFormat.date(study.createdAt))
            }
            return try templates.page("studies", title: "Studies", context: context,
                                      data: StudiesPage(studies: Array(rows), empty: rows.isEmpty, mayCreate: principal.may(.createStudies)))
        }
        root.get("studies/new") { _, context -> Response in
            try context.authorize(.createStudies)
            return try templates.page("study-new", title: "New study", context: context, data: Self.newStudyPage(FormFields("")))
        }
        // The form again with the participant notice as it would read: a POST (the form holds the
        // CSRF token, which stays out of URLs), but nothing is created.
        root.post("studies/preview") { request, context -> Response in
            try context.authorize(.createStudies)
            let form = try await SignInController.form(request)
            var page = Self.newStudyPage(form)
            do {
                let definition = try Self.definition(form)
                try definition.validate()
                page.notice = TransparencyNotice.text(for: definition)
            } catch let error as FormError {
                page.message = error.message
            } catch {
                page.message = ConsoleFormat.sentence("\(error)")
            }
            return try templates.page("study-new", title: "New study", context: context, data: page)
        }
        root.post("studies") { request, context -> Response in
            let principal = try context.authorize(.createStudies)
            let form = try await SignInController.form(request)
            do {
                let study = try await store.createStudy(try Self.definition(form), owner: principal.role == .admin ? nil : principal.id,
                                                        actor: principal.actor)
                return ConsoleTemplates.redirect(to: "/studies/\(study.id)")
            } catch let error as StoreError {
                var page = Self.newStudyPage(form)
                // The store's words name the command line's option; here it is a field of the form.
                page.message = ConsoleFormat.sentence(error.description.replacingOccurrences(
                    of: "state one with --exemption medical|safety", with: "choose one under \"Medical or safety reason\""))
                return try templates.page("study-new", title: "New study", context: context, status: .unprocessableContent, data: page)
            } catch let error as FormError {
                var page = Self.newStudyPage(form)
                page.message = error.message
                return try templates.page("study-new", title: "New study", context: context, status: .unprocessableContent, data: page)
            }
        }
        root.get("studies/:study") { _, context -> Response in
            let (principal, study) = try await context.authorize(.readResults, .reviewMoments, study: try context.parameters.require("study"),
                                                                 store: store)
            return try templates.page("study", title: study.definition.name, context: context,
                                      data: try await overview(study, principal: principal))
        }
        root.post("studies/:study/links") { request, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let form = try await SignInController.form(request)
            guard let count = Int(form["count"] ?? ""), (1...500).contains(count) else {
                throw HTTPError(.unprocessableContent, message: "Make 1 to 500 links at a time.")
            }
            guard let hours = Double(form["hours"] ?? "72"), InputRules.invitationHours.contains(hours) else {
                throw HTTPError(.unprocessableContent, message: "A link lasts from 1 minute to 366 days (give hours).")
            }
            let stimulus = (form["stimulus"] ?? "").isEmpty ? nil : form["stimulus"]
            let base = ConsoleFormat.origin(of: request, context: context)
            var links: [String] = []
            for _ in 0..<count {
                let (_, secret) = try await store.createInvitation(study: study.id, stimulus: stimulus, hours: hours, actor: principal.actor)
                links.append("\(base)/p/\(secret)")
            }
            if form["format"] == "csv" {
                let csv = "link\n" + links.joined(separator: "\n") + "\n"
                let filename = "links-\(study.id).csv"
                return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                                                       .contentDisposition: "attachment; filename=\"\(filename)\""],
                                body: .init(byteBuffer: ByteBuffer(string: csv)))
            }
            return try templates.page("links-created", title: "New links", context: context,
                                      data: LinksCreated(study: study.id, studyName: study.definition.name, links: links,
                                                         all: links.joined(separator: "\n"), rows: min(links.count, 12)))
        }
        root.post("studies/:study/links/:invitation/revoke") { _, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            try await store.revokeInvitation(study: study.id, invitation: try context.parameters.require("invitation"), actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/studies/\(study.id)#links")
        }
        root.post("studies/:study/access") { request, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let form = try await SignInController.form(request)
            let name = (form["user"] ?? "").trimmingCharacters(in: .whitespaces)
            let user: PrivacyStore.User
            do {
                user = try await store.user(name)
            } catch StoreError.unknownUser {
                throw HTTPError(.unprocessableContent, message: "There is no user with that name: an admin adds people under Users.")
            }
            try await store.grantAccess(study: study.id, to: user.id, actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/studies/\(study.id)#access")
        }
        root.post("studies/:study/access/:grantee/revoke") { _, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            try await store.revokeAccess(study: study.id, from: try context.parameters.require("grantee"), actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/studies/\(study.id)#access")
        }
    }

    struct LinksCreated {
        var study: String
        var studyName: String
        var links: [String]
        var all: String
        var rows: Int
    }

    struct StudyPage {
        struct StimulusRow {
            var id: String
            var name: String
            var variant: String
            var uploaded: Bool
        }

        struct LinkRow {
            var id: String
            var state: String
            var created: String
            var expires: String
            var revocable: Bool
        }

        struct GranteeRow {
            var id: String
            var label: String
        }

        var id: String
        var name: String
        var purpose: String
        var context: String
        var mode: String
        var retention: Int
        var k: Int
        var budget: String
        var measured: String
        var analysis: String
        var mayRun: Bool
        var mayRead: Bool
        var mayReview: Bool
        var stimuli: [StimulusRow]
        var noStimuli: Bool
        var links: [LinkRow]
        var noLinks: Bool
        var linkCounts: String
        var grantees: [GranteeRow]
    }

    private func overview(_ study: Study, principal: Principal) async throws -> StudyPage {
        let mayRun = principal.may(.runStudy)
        let stimuli = try await store.stimuli(study: study.id).map {
            StudyPage.StimulusRow(id: $0.id, name: $0.name, variant: $0.variant, uploaded: $0.sha256 != nil)
        }
        var links: [StudyPage.LinkRow] = []
        var grantees: [StudyPage.GranteeRow] = []
        var counts = ""
        if mayRun {
            let statuses = try await store.linkStatuses(study: study.id)
            links = statuses.map {
                StudyPage.LinkRow(id: $0.invitation.id, state: $0.state.rawValue, created: ConsoleFormat.date($0.createdAt),
                                  expires: ConsoleFormat.date($0.invitation.expiresAt), revocable: $0.state == .unused)
            }
            counts = Dictionary(grouping: statuses, by: \.state.rawValue).sorted { $0.key < $1.key }
                .map { "\($0.value.count) \($0.key)" }.joined(separator: ", ")
            let users = Dictionary(try await store.users().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let tokens = Dictionary(try await store.tokens().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            grantees = try await store.grantees(study: study.id).map { id in
                let label = users[id].map { "\($0.name) (\($0.role.rawValue))" } ?? tokens[id].map { "token \($0.name) (\($0.role.rawValue))" } ?? id
                return StudyPage.GranteeRow(id: id, label: label)
            }
        }
        let budget = try await store.privacyBudget(study: study.id).map { String(format: "ε %.2f of %.2f left", $0.remaining, $0.total) }
        let definition = study.definition
        return StudyPage(id: study.id, name: definition.name, purpose: definition.purpose, context: definition.context.rawValue,
                         mode: definition.mode.rawValue, retention: definition.retentionDays, k: definition.kAnonymity,
                         budget: budget ?? "none (no noised releases)",
                         measured: definition.measures ? "expressions, head pose, gaze, eyes, blinks, attention" : "expressions",
                         analysis: definition.analysis == .server
                            ? "on this server" + (definition.transport == .webrtc
                                ? ", cameras received as WebRTC video tracks"
                                    + (definition.captureFramesPerSecond.map { String(format: " at %g frames a second", $0) } ?? "")
                                    + (definition.everyFrame ? ", every frame analysed" : "")
                                : "")
                            : "in participants' browsers (only results are sent)"
                                + (definition.deviceFramesPerSecond.map { String(format: ", %g frames a second", $0) } ?? "")
                                + (definition.deviceFallback ? "; on this server for those whose browser cannot, with their consent" : ""),
                         mayRun: mayRun, mayRead: principal.may(.readResults),
                         mayReview: principal.may(.reviewMoments), stimuli: stimuli, noStimuli: stimuli.isEmpty, links: links,
                         noLinks: links.isEmpty, linkCounts: counts, grantees: grantees)
    }

    struct FormError: Error {
        var message: String
    }

    /// A study definition from the form's fields; defaults as in `affect study create`.
    static func definition(_ form: FormFields) throws -> StudyDefinition {
        guard let context = StudyContext(rawValue: form["context"] ?? "") else { throw FormError(message: "Choose where participants are.") }
        guard let mode = ProcessingMode(rawValue: form["mode"] ?? "individual") else { throw FormError(message: "Choose what may be stored.") }
        guard let retention = Int(form["retention"] ?? "30") else { throw FormError(message: "Retention is a whole number of days.") }
        guard let k = Int(form["k"] ?? "5") else { throw FormError(message: "k is a whole number of participants.") }
        let budgetText = (form["budget"] ?? "").trimmingCharacters(in: .whitespaces)
        let budget = budgetText.isEmpty ? nil : Double(budgetText)
        if !budgetText.isEmpty && budget == nil { throw FormError(message: "The privacy budget is a number (ε), or empty for none.") }
        let exemption = (form["exemption"] ?? "").isEmpty ? nil : ArticleFiveExemption(rawValue: form["exemption"] ?? "")
        let excluded = Set(form.all("exclude").compactMap(Emotion.init(rawValue:)))
        let rateText = (form["device_fps"] ?? "").trimmingCharacters(in: .whitespaces)
        let deviceRate = rateText.isEmpty ? nil : Double(rateText)
        if !rateText.isEmpty && deviceRate == nil { throw FormError(message: "The rate in the browser is a number of frames a second, or empty for the server's.") }
        let captureText = (form["capture_fps"] ?? "").trimmingCharacters(in: .whitespaces)
        let captureRate = captureText.isEmpty ? nil : Double(captureText)
        if !captureText.isEmpty && captureRate == nil { throw FormError(message: "The WebRTC rate is a number of frames a second, or empty for the server's.") }
        return StudyDefinition(name: form["name"] ?? "", purpose: form["purpose"] ?? "", context: context, exemption: exemption,
                               mode: mode, retentionDays: retention, kAnonymity: k, excludedEmotions: excluded,
                               onWithdrawal: WithdrawalPolicy(rawValue: form["withdrawal"] ?? "") ?? .delete,
                               participantReadout: form["readout"] == "on", privacyBudget: budget,
                               measures: form["measures"] == "on",
                               analysis: AnalysisLocation(rawValue: form["analysis"] ?? "") ?? .device,
                               deviceFallback: form["fallback"] == "on", deviceFramesPerSecond: deviceRate,
                               transport: CaptureTransport(rawValue: form["transport"] ?? "") ?? .jpeg,
                               captureFramesPerSecond: captureRate, everyFrame: form["every_frame"] == "on")
    }

    static func newStudyPage(_ form: FormFields) -> NewStudyPage {
        func choices(_ values: [String], selected: String?, labels: [String: String] = [:]) -> [Choice] {
            values.map { Choice(value: $0, label: labels[$0] ?? $0, selected: $0 == selected) }
        }
        var page = NewStudyPage()
        page.name = form["name"] ?? ""
        page.purpose = form["purpose"] ?? ""
        page.contexts = choices(StudyContext.allCases.map(\.rawValue), selected: form["context"] ?? StudyContext.mediaResearch.rawValue,
                                labels: ["workplace": "workplace (refused: EU AI Act Art. 5(1)(f))",
                                         "education": "education (refused: EU AI Act Art. 5(1)(f))"])
        page.exemptions = [Choice(value: "", label: "none", selected: (form["exemption"] ?? "").isEmpty)]
            + choices(ArticleFiveExemption.allCases.map(\.rawValue), selected: form["exemption"])
        page.modes = choices(ProcessingMode.allCases.map(\.rawValue), selected: form["mode"] ?? "individual",
                             labels: ["individual": "individual: per-face scores on the stimulus clock",
                                      "aggregate": "aggregate: only window averages per session",
                                      "group": "group: per-frame averages over all faces, no tracks"])
        page.withdrawals = choices(WithdrawalPolicy.allCases.map(\.rawValue), selected: form["withdrawal"] ?? "delete",
                                   labels: ["delete": "delete their results", "keep-aggregates": "keep them only inside anonymous averages"])
        let excluded = Set(form.all("exclude"))
        page.expressions = Emotion.allCases.map { Choice(value: $0.rawValue, label: $0.rawValue, selected: excluded.contains($0.rawValue)) }
        page.retention = form["retention"] ?? "30"
        page.k = form["k"] ?? "5"
        page.budget = form["budget"] ?? ""
        page.readout = form["readout"] == "on"
        page.measures = form["measures"] == "on"
        page.fallback = form["fallback"] == "on"
        page.deviceFps = form["device_fps"] ?? ""
        page.transports = choices(CaptureTransport.allCases.map(\.rawValue), selected: form["transport"] ?? CaptureTransport.jpeg.rawValue,
                                  labels: ["jpeg": "JPEG snapshots over the page's connection (2 to 10 a second)",
                                           "webrtc": "an encrypted WebRTC video track, up to 30 a second, each frame on the stimulus clock"])
        page.captureFps = form["capture_fps"] ?? ""
        page.everyFrame = form["every_frame"] == "on"
        // New studies analyse on the device unless the researcher chooses otherwise.
        page.analyses = choices(AnalysisLocation.allCases.map(\.rawValue), selected: form["analysis"] ?? AnalysisLocation.device.rawValue,
                                labels: ["device": "in the participant's browser: no picture leaves their device",
                                         "server": "on this server: the page sends camera frames (analysed in memory)"])
        return page
    }
}

/// How the console writes dates, origins and messages.
enum ConsoleFormat {
    static func date(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)) + " UTC"
    }

    /// `https://host:port` (or `http://`) as the browser reached the server, for links to hand out.
    static func origin(of request: Request, context: AffectRequestContext) -> String {
        "\(context.client.isSecure ? "https" : "http")://\(request.head.authority ?? "127.0.0.1")"
    }

    /// A store message as a sentence for a page: capital first letter, full stop.
    static func sentence(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first else { return "" }
        return first.uppercased() + trimmed.dropFirst() + (trimmed.hasSuffix(".") ? "" : ".")
    }
}
