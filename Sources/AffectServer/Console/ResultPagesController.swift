import AffectCore
import AffectReport
import AffectStore
import Foundation
import Hummingbird

/// The console's pages on what a study collected: the results explorer, the report (with noised
/// releases after a confirmation that shows the ε left), and the moments review queue.
struct ResultPagesController {
    let store: PrivacyStore
    let templates: ConsoleTemplates
    let library: StimulusLibrary?

    struct ResultsPage {
        struct Row {
            var time: String
            var n: Int
            var cells: [String]
        }

        var id: String
        var name: String
        var variants: [StudyPagesController.Choice]
        var expressions: [StudyPagesController.Choice]
        var segment: String
        var from: String
        var to: String
        var rows: [Row]
        var empty: Bool
        var headers: [String]
        var note: String
        var suppressed: Int
        var participants: String
        var bins: String
        var csv: String
    }

    struct ReportPage {
        var id: String
        var name: String
        var mayRun: Bool
        var budget: String?
        var hasBudget: Bool
    }

    struct ConfirmPage {
        var id: String
        var name: String
        var segmentBy: String
        var epsilon: String
        var remaining: String
        var after: String
        var key: String
    }

    struct ReleasedPage {
        struct Row {
            var stimulus: String
            var value: String
            var n: Int
            var valence: String
        }

        var id: String
        var name: String
        var rows: [Row]
        var nothing: Bool
        var budget: String
        var replayed: Bool
    }

    struct MomentsPage {
        struct Row {
            var id: String
            var expression: String
            var onset: String
            var peak: String
            var share: String
            var status: String
            var pending: Bool
            var media: String?
            /// Seconds into the stimulus where the player starts.
            var start: String
            var note: String?
            var reviewer: String?
        }

        var id: String
        var name: String
        var moments: [Row]
        var empty: Bool
        var mayFind: Bool
    }

    func addRoutes(to root: Routes) {
        root.get("studies/:study/results") { request, context -> Response in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            return try templates.page("results", title: "Results: \(study.definition.name)", context: context,
                                      data: try await results(study, request))
        }
        root.get("studies/:study/report") { _, context -> Response in
            let (principal, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            let budget = try await store.privacyBudget(study: study.id)
            return try templates.page("report", title: "Report: \(study.definition.name)", context: context,
                                      data: ReportPage(id: study.id, name: study.definition.name, mayRun: principal.may(.runStudy),
                                                       budget: budget.map { String(format: "%.2f of %.2f", $0.remaining, $0.total) },
                                                       hasBudget: budget != nil))
        }
        // Reading what a release would spend changes nothing: the confirmation is a GET.
        root.get("studies/:study/releases/confirm") { request, context -> Response in
            let (_, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let segmentBy = request.uri.queryParameters["segment_by"].map(String.init) ?? ""
            guard let epsilon = request.uri.queryParameters["epsilon"].flatMap({ Double(String($0)) }) else {
                throw HTTPError(.unprocessableContent, message: "Give ε as a number, e.g. 0.5.")
            }
            do throws(InputRules.Violation) {
                try InputRules.segment([segmentBy: "x"])
                try InputRules.epsilon(epsilon, field: "ε")
            } catch {
                throw HTTPError(.unprocessableContent, message: ConsoleFormat.sentence(error.description))
            }
            guard let budget = try await store.privacyBudget(study: study.id) else {
                throw HTTPError(.unprocessableContent, message: "This study has no privacy budget, so nothing can be released with noise.")
            }
            return try templates.page("release-confirm", title: "Confirm the release", context: context,
                                      data: ConfirmPage(id: study.id, name: study.definition.name, segmentBy: segmentBy,
                                                        epsilon: String(epsilon), remaining: String(format: "%.2f", budget.remaining),
                                                        after: String(format: "%.2f", max(0, budget.remaining - epsilon)),
                                                        key: UUID().uuidString))
        }
        root.post("studies/:study/releases") { request, context -> Response in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            let form = try await SignInController.form(request)
            guard form["confirmed"] == "yes", let epsilon = Double(form["epsilon"] ?? "") else {
                throw HTTPError(.unprocessableContent, message: "The release was not confirmed: nothing was spent.")
            }
            let outcome = try await StudyReport.releaseSegments(store: store, study: study.id, segmentBy: form["segment_by"] ?? "",
                                                                epsilon: epsilon, idempotencyKey: form["key"], actor: principal.actor)
            let rows = outcome.table.rows.map {
                ReleasedPage.Row(stimulus: $0.stimulus, value: $0.value, n: $0.n, valence: $0.valence.map { String(format: "%.3f", $0.mean) } ?? "–")
            }
            return try templates.page("released", title: "Released", context: context,
                                      data: ReleasedPage(id: study.id, name: study.definition.name, rows: rows, nothing: outcome.release == nil,
                                                         budget: String(format: "%.2f of %.2f", outcome.budget.remaining, outcome.budget.total),
                                                         replayed: outcome.replayed))
        }
        root.get("studies/:study/moments") { _, context -> Response in
            let (principal, study) = try await context.authorize(.reviewMoments, study: try context.parameters.require("study"), store: store)
            let moments = try await store.audienceMoments(study: study.id)
                .sorted { ($0.status == .pending ? 0 : 1, $0.onsetMs) < ($1.status == .pending ? 0 : 1, $1.onsetMs) }
            let rows = moments.map { moment in
                MomentsPage.Row(id: moment.id, expression: moment.expression.rawValue, onset: AudienceTime.seconds(moment.onsetMs),
                                peak: String(format: "%.2f", moment.peak), share: String(format: "%.0f%%", moment.share * 100),
                                status: moment.status.rawValue, pending: moment.status == .pending,
                                media: moment.stimulusID.isEmpty ? nil
                                    : "/studies/\(study.id)/stimuli/\(moment.stimulusID)/media#t=\(String(format: "%.1f", moment.onsetMs / 1000))",
                                start: String(format: "%.1f", moment.onsetMs / 1000),
                                note: moment.note.flatMap { $0.isEmpty ? nil : $0 }, reviewer: moment.reviewer)
            }
            return try templates.page("moments", title: "Moments: \(study.definition.name)", context: context,
                                      data: MomentsPage(id: study.id, name: study.definition.name, moments: rows, empty: rows.isEmpty,
                                                        mayFind: principal.may(.reviewMoments)))
        }
        root.post("studies/:study/moments/find") { _, context -> Response in
            let (_, study) = try await context.authorize(.runStudy, .reviewMoments, study: try context.parameters.require("study"), store: store)
            _ = try await StudyReport.queueMoments(store: store, study: study.id)
            return ConsoleTemplates.redirect(to: "/studies/\(study.id)/moments")
        }
        root.post("studies/:study/moments/:moment") { request, context -> Response in
            let (principal, study) = try await context.authorize(.reviewMoments, study: try context.parameters.require("study"), store: store)
            let form = try await SignInController.form(request)
            guard let decision = PrivacyStore.AudienceMomentReview.Status(rawValue: form["decision"] ?? ""), decision != .pending else {
                throw HTTPError(.unprocessableContent, message: "Confirm or dismiss the moment.")
            }
            let id = try context.parameters.require("moment")
            guard try await store.audienceMoments(study: study.id).contains(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no such audience moment in this study")
            }
            let note = (form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await store.reviewAudienceMoment(id, decision: decision, note: note.isEmpty ? nil : note, actor: principal.actor)
            return ConsoleTemplates.redirect(to: "/studies/\(study.id)/moments")
        }
        root.get("studies/:study/stimuli/:stimulus/media") { _, context -> Response in
            let (_, study) = try await context.authorize(.readResults, .reviewMoments, .runStudy,
                                                         study: try context.parameters.require("study"), store: store)
            let id = try context.parameters.require("stimulus")
            guard let stimulus = try await store.stimuli(study: study.id).first(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no such stimulus in this study")
            }
            return try await StimulusResponse.make(stimulus, library: library, context: context)
        }
    }

    private func results(_ study: Study, _ request: Request) async throws -> ResultsPage {
        let parameters = request.uri.queryParameters
        // Empty fields of the filter form mean "no filter".
        let filtered = Parameters(parameters.filter { !$0.value.isEmpty })
        let query = filtered.map { "\($0.key)=\($0.value)" }
        let results = try await ResultsController(store: store).query(study: study.id, filtered)
        let variants = Set(try await store.stimuli(study: study.id).map(\.variant)).sorted()
        let variant = filtered["variant"].map(String.init)
        let expression = filtered["expression"].map(String.init)
        let headers = results.expressions.map(\.rawValue) + ["valence"]
        let rows = results.bins.map { bin in
            let values = results.expressions.map { bin.expressions[Emotion.allCases.firstIndex(of: $0) ?? 0] } + [bin.valence]
            return ResultsPage.Row(time: AudienceTime.seconds(bin.timeMilliseconds), n: bin.n,
                                   cells: values.map { $0.map { String(format: "%.3f", $0.mean) } ?? "–" })
        }
        let csvQuery = (query + ["format=csv"]).joined(separator: "&")
        return ResultsPage(
            id: study.id, name: study.definition.name,
            variants: [StudyPagesController.Choice(value: "", label: "all", selected: variant == nil)]
                + variants.map { StudyPagesController.Choice(value: $0, label: $0, selected: $0 == variant) },
            expressions: [StudyPagesController.Choice(value: "", label: "all", selected: expression == nil)]
                + Emotion.allCases.map { StudyPagesController.Choice(value: $0.rawValue, label: $0.rawValue, selected: $0.rawValue == expression) },
            segment: filtered["segment"].map(String.init) ?? "", from: filtered["from_ms"].map(String.init) ?? "",
            to: filtered["to_ms"].map(String.init) ?? "", rows: rows, empty: rows.isEmpty, headers: headers, note: results.note,
            suppressed: results.suppressedBins, participants: results.participants.map(String.init) ?? "fewer than \(results.k)",
            bins: String(decoding: try AffectJSON.encoder().encode(results.bins), as: UTF8.self),
            csv: "/api/v1/studies/\(study.id)/results?\(csvQuery)")
    }
}

/// Stimulus time as people read it: seconds with one decimal.
enum AudienceTime {
    static func seconds(_ milliseconds: Double) -> String { String(format: "%.1f s", milliseconds / 1000) }
}
