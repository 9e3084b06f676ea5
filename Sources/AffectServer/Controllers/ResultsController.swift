import AffectCore
import AffectReport
import AffectStore
import Foundation
import Hummingbird

/// `/api/v1/studies/:study/{sessions,results,report,moments}` (``Permission/readResults``): what a study collected.
///
/// Results leave the server only as audience bins on the stimulus clock, each a mean over
/// participants, and a bin with fewer than the study's k participants is withheld, values and count
/// alike. Filtering by stimulus, variant, segment, time or expression narrows the audience, so the
/// rule is applied after the filters: a small segment yields suppressed bins, not small ones.
struct ResultsController {
    let store: PrivacyStore

    /// The audience timeline of a query.
    struct Results: ResponseEncodable {
        struct Filters: Encodable {
            var stimuli: [String]?
            var segment: [String: String]?
            var fromMs: Double?
            var toMs: Double?
            var expression: Emotion?
        }

        var study: String
        var k: Int
        var binMs: Double
        var filters: Filters
        /// Participants with at least one stored record in the query; nil when fewer than k.
        var participants: Int?
        var expressions: [Emotion]
        var bins: [AudienceBin]
        var suppressedBins: Int
        var note: String
    }

    struct SessionMoment: ResponseEncodable {
        var session: String
        var stimulusId: String?
        var moment: Moment
    }

    func addRoutes(to group: Routes) {
        group.get(":study/sessions") { _, context -> [Session] in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            return try await store.sessions(study: study.id)
        }
        group.get(":study/results") { request, context -> Response in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
            guard ["json", "csv"].contains(format) else { throw HTTPError(.badRequest, message: "format is json or csv") }
            let results = try await query(study: study.id, request.uri.queryParameters)
            if format == "csv" {
                return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: Self.csv(results))))
            }
            return try results.response(from: request, context: context)
        }
        group.get(":study/report") { request, context -> Response in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            let bin = request.uri.queryParameters["bin_ms"].map { Double(String($0)) } ?? 500
            guard let bin, bin >= 100, bin <= 600_000 else { throw HTTPError(.badRequest, message: "bin_ms must be 100 to 600000") }
            let segmentBy = request.uri.queryParameters["segment_by"].map(String.init)
            if let segmentBy {
                guard (try? InputRules.segment([segmentBy: "x"])) != nil else {
                    throw HTTPError(.badRequest, message: "segment_by is an attribute name: 1 to 64 letters, digits, spaces or _-.+")
                }
            }
            // Reading a report changes nothing; a noised release is its own POST.
            if request.uri.queryParameters["epsilon"] != nil {
                throw HTTPError(.badRequest, message: "a report only reads: release with ε by POST /api/v1/studies/{study}/releases")
            }
            let report = try await StudyReport.build(store: store, study: study.id, binMilliseconds: bin,
                                                     segmentBy: segmentBy)
            let (type, text): (String, String) = switch request.uri.queryParameters["format"].map(String.init) ?? "json" {
            case "html": ("text/html; charset=utf-8", try report.html())
            case "csv": ("text/csv; charset=utf-8", report.csv())
            case "json": ("application/json", try report.json())
            default: throw HTTPError(.badRequest, message: "format is html, csv or json")
            }
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        group.get(":study/moments") { _, context -> [SessionMoment] in
            let (_, study) = try await context.authorize(.readResults, study: try context.parameters.require("study"), store: store)
            return try await store.sessionResults(study: study.id).flatMap { set in
                set.records.compactMap { record in
                    guard case .moment(let moment) = record else { return nil }
                    return SessionMoment(session: set.session.id, stimulusId: set.session.stimulusID, moment: moment)
                }
            }
        }
    }

    func query(study reference: String, _ parameters: Parameters) async throws -> Results {
        let study = try await store.study(reference)
        func number(_ name: String) throws -> Double? {
            guard let text = parameters[Substring(name)] else { return nil }
            guard let value = Double(text), value.isFinite, value >= 0 else {
                throw HTTPError(.badRequest, message: "\(name) must be a non-negative number of milliseconds")
            }
            return value
        }
        let bin = try number("bin_ms") ?? 500
        guard bin >= 100, bin <= 600_000 else { throw HTTPError(.badRequest, message: "bin_ms must be 100 to 600000") }
        let from = try number("from_ms"), to = try number("to_ms")
        var expression: Emotion?
        if let name = parameters["expression"] {
            guard let parsed = Emotion(rawValue: String(name)) else {
                throw HTTPError(.badRequest, message: "expression must be one of " + Emotion.allCases.map(\.rawValue).joined(separator: ", "))
            }
            expression = parsed
        }
        var segment: [String: String] = [:]
        for value in parameters.getAll("segment") {
            let pair = value.split(separator: ":", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[0].isEmpty else { throw HTTPError(.badRequest, message: "segment is key:value, e.g. segment=age:25-34") }
            segment[pair[0]] = pair[1]
        }
        do {
            try InputRules.segment(segment)
            if let name = parameters["name"] { try InputRules.label(String(name), field: "name") }
            if let variant = parameters["variant"] { try InputRules.label(String(variant), field: "variant", maximum: InputRules.maximumTagLength) }
            if let id = parameters["stimulus"] { try Identifier.validate(String(id), as: .stimulus) }
        } catch let violation as InputRules.Violation {
            throw HTTPError(.badRequest, message: violation.description)
        }
        // A stimulus by id, or by variant (and name): the variants of an A/B test are compared side by side.
        var stimuli: Set<String>?
        let variant = parameters["variant"].map(String.init), name = parameters["name"].map(String.init)
        if let id = parameters["stimulus"].map(String.init) {
            stimuli = [id]
        } else if variant != nil || name != nil {
            stimuli = Set(try await store.stimuli(study: study.id)
                .filter { (variant == nil || $0.variant == variant) && (name == nil || $0.name == name) }.map(\.id))
        }
        let sets = try await store.sessionResults(study: study.id, stimuli: stimuli, segment: segment)
        var timeline = AudienceTimeline(binMilliseconds: bin)
        for (index, set) in sets.enumerated() {
            for record in set.records { timeline.add(record, contributor: set.participantID, recording: index) }
        }
        // Participants with an analysed frame (moments alone put nothing in a bin).
        let participants = timeline.contributors.filter { !$0.value.isEmpty }
        let k = study.definition.kAnonymity
        var (points, suppressed) = timeline.bins(minimumContributors: k)
        points = points.filter { point in
            (from.map { point.timeMilliseconds + bin > $0 } ?? true) && (to.map { point.timeMilliseconds < $0 } ?? true)
        }
        let expressions = expression.map { [$0] } ?? Emotion.allCases
        if let expression { points = points.map { $0.keeping(only: expression) } }
        return Results(
            study: study.id, k: k, binMs: bin,
            filters: .init(stimuli: stimuli.map { $0.sorted() }, segment: segment.isEmpty ? nil : segment, fromMs: from, toMs: to,
                           expression: expression),
            participants: participants.count >= k ? participants.count : nil, expressions: expressions, bins: points,
            suppressedBins: suppressed,
            note: "Means of estimated expression probabilities over participants (each participant averaged first), with "
                + "95% intervals, per bin of stimulus time; bins with fewer than \(k) participants are withheld. Estimates of "
                + "how faces looked, not of what anyone felt.")
    }

    static func csv(_ results: Results) -> String {
        var lines = ["t_ms,participants," + Emotion.allCases.map(\.rawValue).joined(separator: ",") + ",valence,engagement"]
        for point in results.bins {
            let means = (point.expressions + [point.valence, point.engagement]).map { $0.map { String(format: "%.6f", $0.mean) } ?? "" }
            lines.append(([String(format: "%.0f", point.timeMilliseconds), String(point.n)] + means).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Session: ResponseEncodable {}
