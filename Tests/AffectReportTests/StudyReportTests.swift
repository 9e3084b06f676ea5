import AffectCore
@testable import AffectReport
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// The report over a real SQLite store with hand-made records whose statistics are known.
@Suite struct StudyReportTests {
    static func emotions(happy: Double) -> ReportedEmotions {
        ReportedEmotions(probabilities: [0, 0, 0, happy, 0, 0, 1 - happy])!
    }

    /// A participant of `stimulus` whose face is `happy` happy (the rest neutral) from 0 to 1900 ms,
    /// with a face in every frame except those in `faceless`.
    static func watch(_ store: PrivacyStore, study: Study, stimulus: Stimulus, happy: (Int) -> Double,
                      faceless: Set<Int> = []) async throws {
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: "test")
        let session = try await store.startSession(study: study.id, participant: participant.id, stimulus: stimulus.id,
                                                   provenance: .init(models: ["emotion": "abc"], configuration: ["detector": "x"]),
                                                   actor: "test")
        let records: [MinimisedRecord] = (0..<20).map { frame in
            faceless.contains(frame)
                ? .noFace(FacelessFrameRow(frame: frame, timeMilliseconds: Double(frame) * 100))
                : .face(FaceRow(frame: frame, timeMilliseconds: Double(frame) * 100, track: nil, emotions: emotions(happy: happy(frame))))
        }
        try await store.append(records, toSession: session.id)
        try await store.endSession(session.id, actor: "test")
    }

    func withStudy(_ body: (PrivacyStore, Study, Stimulus, Stimulus) async throws -> Void) async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let study = try await store.createStudy(
            StudyDefinition(name: "Ads", purpose: "Which cut works", context: .marketResearch, kAnonymity: 3), actor: "test")
        let a = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/a.mp4"), actor: "test")
        let b = try await store.addStimulus(study: study.id, name: "Cut", variant: "B", source: .url("https://example.invalid/b.mp4"), actor: "test")
        try await body(store, study, a, b)
    }

    @Test func binsAreMeansOverParticipantsWithTIntervals() async throws {
        try await withStudy { store, study, a, _ in
            // Three participants at happy 0.2, 0.4 and 0.6 throughout; the third has no face in frames 0 to 4.
            try await Self.watch(store, study: study, stimulus: a, happy: { _ in 0.2 })
            try await Self.watch(store, study: study, stimulus: a, happy: { _ in 0.4 })
            try await Self.watch(store, study: study, stimulus: a, happy: { _ in 0.6 }, faceless: [0, 1, 2, 3, 4])
            let report = try await StudyReport.build(store: store, study: study.id)
            let section = try #require(report.stimuli.first { $0.variant == "A" })
            #expect(section.participants == 3)
            #expect(section.bins.map(\.timeMilliseconds) == [0, 500, 1000, 1500])
            // First bin: only two participants had a face, so two happy values; engagement 1, 1 and 0.
            let first = section.bins[0]
            #expect(first.n == 3)
            let happy = try #require(first.expressions[Emotion.happy.index])
            #expect(happy.n == 2 && abs(happy.mean - 0.3) < 1e-12)
            // t(0.975, 1) = 12.7062; SD of {0.2, 0.4} = 0.1414; half width 12.7062 × 0.1 = 1.27: cut to [0, 1].
            #expect(happy.low == 0 && happy.high == 1)
            let engagement = try #require(first.engagement)
            #expect(abs(engagement.mean - 2.0 / 3) < 1e-12)
            let later = try #require(section.bins[1].expressions[Emotion.happy.index])
            // {0.2, 0.4, 0.6}: mean 0.4, SD 0.2, t(0.975, 2) = 4.302653: ±0.4968.
            #expect(abs(later.mean - 0.4) < 1e-12)
            #expect(abs((later.high ?? 0) - (0.4 + 4.302652729911275 * 0.2 / 3.0.squareRoot())) < 1e-9)
            #expect(section.bins[1].engagement?.mean == 1)
            // Variant B has no one: nothing to show, and no comparison.
            #expect(report.stimuli.count == 1)
            #expect(report.comparisons.first?.overall == nil)
            #expect(report.provenance.first?.models["emotion"] == "abc" && report.provenance.first?.sessions == 3)
        }
    }

    @Test func smallCellsAreWithheldAndVariantsAreComparedOnlyWithKEach() async throws {
        try await withStudy { store, study, a, b in
            for happy in [0.7, 0.8, 0.9] { try await Self.watch(store, study: study, stimulus: a, happy: { _ in happy }) }
            for happy in [0.1, 0.2] { try await Self.watch(store, study: study, stimulus: b, happy: { _ in happy }) }
            var report = try await StudyReport.build(store: store, study: study.id)
            let sectionB = try #require(report.stimuli.first { $0.variant == "B" })
            #expect(sectionB.participants == nil && sectionB.bins.isEmpty && sectionB.suppressedBins == 4 && sectionB.overall == nil)
            #expect(report.comparisons.first?.overall == nil)
            #expect(report.comparisons.first?.statement.contains("at least 3 participants") == true)
            #expect(!report.csv().contains(",B,"), "nothing about variant B's two participants is exported")

            try await Self.watch(store, study: study, stimulus: b, happy: { _ in 0.3 })
            report = try await StudyReport.build(store: store, study: study.id)
            let comparison = try #require(report.comparisons.first)
            let test = try #require(comparison.overall)
            // Valence of a face happy h, neutral 1 − h: h × cos(20°). A: 0.7, 0.8, 0.9; B: 0.1, 0.2, 0.3.
            let reference = try #require(WelchTest([0.7, 0.8, 0.9].map { $0 * cos(20 * Double.pi / 180) },
                                                   [0.1, 0.2, 0.3].map { $0 * cos(20 * Double.pi / 180) }))
            #expect(abs(test.t - reference.t) < 1e-9 && abs(test.p - reference.p) < 1e-12)
            #expect(test.p < 0.05 && comparison.statement.contains("a statistically significant difference"))
            #expect(comparison.bins.count == 4 && comparison.bins.allSatisfy { $0.q >= $0.p })
        }
    }

    @Test func moreThanTwoVariantsAreComparedPairwiseAndAdjustedAcrossPairs() async throws {
        try await withStudy { store, study, a, b in
            let c = try await store.addStimulus(study: study.id, name: "Cut", variant: "C", source: .url("https://example.invalid/c.mp4"), actor: "test")
            let levels: [(Stimulus, [Double])] = [(a, [0.7, 0.8, 0.9]), (b, [0.1, 0.2, 0.3]), (c, [0.6, 0.8, 0.95])]
            for (stimulus, happies) in levels {
                for happy in happies { try await Self.watch(store, study: study, stimulus: stimulus, happy: { _ in happy }) }
            }
            let report = try await StudyReport.build(store: store, study: study.id)
            #expect(report.comparisons.map { "\($0.variantA)-\($0.variantB)" } == ["A-B", "A-C", "B-C"])
            // The same tests by hand: valence of a face happy h, neutral 1 − h, is h × cos(20°).
            let valence = { (happies: [Double]) in happies.map { $0 * cos(20 * Double.pi / 180) } }
            let pairs = [(0, 1), (0, 2), (1, 2)]
            let p = try pairs.map { pair in try #require(WelchTest(valence(levels[pair.0].1), valence(levels[pair.1].1))).p }
            let q = MultipleComparisons.benjaminiHochberg(p)
            for (index, comparison) in report.comparisons.enumerated() {
                let test = try #require(comparison.overall)
                #expect(abs(test.p - p[index]) < 1e-12)
                #expect(abs((comparison.overallQ ?? -1) - q[index]) < 1e-12)
                #expect(comparison.statement.contains("adjusted for the 3 pairs of variants compared"))
                #expect(comparison.statement.contains(q[index] < 0.05 ? "a statistically significant difference (adjusted p < 0.05)"
                                                                      : "no statistically significant difference (adjusted p ≥ 0.05)"))
            }
            // A and C overlap: no difference; B is far below both.
            #expect(q[1] >= 0.05 && q[0] < 0.05)
            #expect(report.csv().contains(String(format: "%.6f", q[0])), "the adjusted p is exported")
        }
    }

    @Test func audienceMomentsAreRisesAboveTheUsualLevelAndAwaitReview() async throws {
        try await withStudy { store, study, a, _ in
            // Everyone smiles in frames 10 to 14 (the 1000-1500 ms bin), two of three strongly.
            for peak in [0.9, 0.9, 0.3] {
                try await Self.watch(store, study: study, stimulus: a, happy: { (10..<15).contains($0) ? peak : 0.1 })
            }
            // Reading a report queues nothing; queueing is its own act.
            let unqueued = try await StudyReport.build(store: store, study: study.id)
            #expect(unqueued.moments.allSatisfy { $0.review == "not queued" && $0.reviewId == nil })
            #expect(try await store.audienceMoments(study: study.id).isEmpty)
            let queued = try await StudyReport.queueMoments(store: store, study: study.id)
            #expect(queued.count == unqueued.moments.count)
            let report = try await StudyReport.build(store: store, study: study.id)
            let moment = try #require(report.moments.first { $0.expression == .happy })
            #expect(moment.onsetMs == 1000 && moment.peakMs == 1000 && moment.durationMs == 500)
            #expect(abs(moment.peak - 0.7) < 1e-12 && abs(moment.baseline - 0.1) < 1e-12)
            #expect(abs(moment.shareOfAudience - 1) < 1e-12, "all three rose at least 0.1 above their own usual level")
            #expect(moment.review == "pending")
            // The moment waits in the study's queue until a person decides; the next report shows the decision.
            let id = try #require(moment.reviewId)
            #expect(try await store.audienceMoments(study: study.id).map(\.id).contains(id))
            _ = try await store.reviewAudienceMoment(id, decision: .confirmed, note: "the laugh at 1 s", actor: "reviewer")
            _ = try await StudyReport.queueMoments(store: store, study: study.id)
            let again = try await StudyReport.build(store: store, study: study.id)
            let reviewed = try #require(again.moments.first { $0.expression == .happy })
            #expect(reviewed.reviewId == id && reviewed.review == "confirmed")
            #expect(try await store.audienceMoments(study: study.id).count == report.moments.count, "found once, not twice")
            #expect(try await store.auditEvents().last?.action == "moment.review")
        }
    }

    @Test func everyNumberTheHTMLShowsIsInTheJSONItEmbeds() async throws {
        try await withStudy { store, study, a, b in
            for happy in [0.7, 0.8, 0.9] { try await Self.watch(store, study: study, stimulus: a, happy: { _ in happy }) }
            for happy in [0.1, 0.2, 0.4] { try await Self.watch(store, study: study, stimulus: b, happy: { _ in happy }) }
            let report = try await StudyReport.build(store: store, study: study.id)
            let html = try report.html()
            #expect(html.contains("function drawTimeline"), "the chart script is embedded: the file stands alone")
            #expect(!html.contains("src=\"http"), "and loads nothing")
            let json = try report.json()
            #expect(html.contains(json.replacingOccurrences(of: "</", with: "<\\/")))
            for section in ["summary", "comparisons", "moments", "method", "provenance", "limitations"] {
                #expect(html.contains("id=\"\(section)\""), "\(section) section")
            }
            let valence = try #require(report.stimuli.first?.overall?.valence?.mean)
            #expect(html.contains(String(format: "data-value=\"%.6f\"", valence)))
        }
    }
}
