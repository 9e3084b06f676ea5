import AffectCore
@testable import AffectReport
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// Segment comparisons: small cells withheld, and with differential privacy a budget that falls with
/// each release and refuses the release that would overspend it.
@Suite struct SegmentPrivacyTests {
    func withStudy(budget: Double?, k: Int = 2, _ body: (PrivacyStore, Study) async throws -> Void) async throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(.sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let study = try await store.createStudy(
            StudyDefinition(name: "Ads", purpose: "Which cut works", context: .marketResearch, kAnonymity: k, privacyBudget: budget),
            actor: "test")
        let cut = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/a.mp4"), actor: "test")
        for happy in [0.5, 0.6, 0.7] { try await StudyFixtures.participant(store, study: study, stimulus: cut, age: "25-34", happy: happy) }
        for happy in [0.1, 0.3] { try await StudyFixtures.participant(store, study: study, stimulus: cut, age: "35-44", happy: happy) }
        try await StudyFixtures.participant(store, study: study, stimulus: cut, age: "45+", happy: 0.9)
        try await body(store, study)
    }

    @Test func cellsUnderKAreWithheldAndTheRestHaveIntervals() async throws {
        try await withStudy(budget: nil) { store, study in
            let report = try await StudyReport.build(store: store, study: study.id, segmentBy: "age")
            let table = try #require(report.segments)
            #expect(table.rows.map(\.value) == ["25-34", "35-44"])
            #expect(table.suppressedCells == 1, "the single 45+ participant")
            let young = try #require(table.rows.first?.expressions[Emotion.happy.index])
            #expect(abs(young.mean - 0.6) < 1e-12 && young.low != nil && table.epsilon == nil)
            let html = try report.html()
            #expect(!report.csv().contains("45+") && !html.contains("45+"))
            await #expect(throws: StoreError.invalidInput(
                "this study has no privacy budget (create it with one): its segment comparisons are in its report")) {
                _ = try await Self.release(store, study, epsilon: 0.5)
            }
        }
    }

    func release(_ store: PrivacyStore, _ study: Study, epsilon: Double, key: String? = nil) async throws -> StudyReport.SegmentRelease {
        try await Self.release(store, study, epsilon: epsilon, key: key)
    }

    static func release(_ store: PrivacyStore, _ study: Study, epsilon: Double, key: String? = nil) async throws -> StudyReport.SegmentRelease {
        try await StudyReport.releaseSegments(store: store, study: study.id, segmentBy: "age", epsilon: epsilon, idempotencyKey: key,
                                              actor: "test")
    }

    @Test func theBudgetFallsWithEachReleaseAndRefusesOverspending() async throws {
        try await withStudy(budget: 1.0) { store, study in
            await #expect(throws: StoreError.self, "nothing released yet: a report has no segment table to show") {
                _ = try await StudyReport.build(store: store, study: study.id, segmentBy: "age")
            }
            let first = try await release(store, study, epsilon: 0.4)
            let table = first.table
            #expect(table.epsilon == 0.4 && abs((table.budgetRemaining ?? 0) - 0.6) < 1e-12 && first.release != nil)
            let row = try #require(table.rows.first)
            #expect(row.valence?.low == nil && row.valence?.high == nil, "no interval under noise")
            // 2 rows × (valence, engagement, 7 expressions) = 18 numbers share ε = 0.4; a mean of 3 values in [0, 1]
            // has sensitivity 1/3, so each expression's noise scale is (1/3) / (0.4/18) = 15.
            #expect(abs((row.noiseScale?["happy"] ?? 0) - 15) < 1e-9)
            #expect(abs((row.noiseScale?["valence"] ?? 0) - 30) < 1e-9, "valence spans −1 to 1")
            // Reading the report shows the release as it was made, and spends nothing.
            let read = try #require(try await StudyReport.build(store: store, study: study.id, segmentBy: "age").segments)
            #expect(read.rows.first?.valence?.mean == row.valence?.mean && read.epsilon == 0.4)
            #expect(abs((try await store.privacyBudget(study: study.id)?.remaining ?? -1) - 0.6) < 1e-12)

            _ = try await release(store, study, epsilon: 0.4)
            #expect(abs((try await store.privacyBudget(study: study.id)?.remaining ?? -1) - 0.2) < 1e-12)
            await #expect(throws: StoreError.privacyBudgetSpent(remaining: 0.19999999999999996, asked: 0.4)) {
                _ = try await release(store, study, epsilon: 0.4)
            }
            let budget = try #require(try await store.privacyBudget(study: study.id))
            #expect(budget.releases == 2, "the refused release left no trace but its refusal")
            _ = try await release(store, study, epsilon: 0.2)
            #expect(try await store.privacyBudget(study: study.id)?.remaining == 0, "exactly what was left may be spent")
            let releases = try await store.auditEvents().filter { $0.action == "privacy.release" }
            #expect(releases.count == 3)
        }
    }

    /// A retried release returns the first one's numbers and spends nothing again: a fresh draw of
    /// noise would leak what the budget does not count.
    @Test func aRetryWithTheSameKeyReplaysTheRelease() async throws {
        try await withStudy(budget: 1.0) { store, study in
            let first = try await release(store, study, epsilon: 0.3, key: "release-1")
            let again = try await release(store, study, epsilon: 0.3, key: "release-1")
            #expect(again.replayed && !first.replayed && again.release?.id == first.release?.id)
            #expect(again.table.rows.map { $0.valence?.mean } == first.table.rows.map { $0.valence?.mean })
            #expect(abs((try await store.privacyBudget(study: study.id)?.spent ?? 0) - 0.3) < 1e-12)
            await #expect(throws: StoreError.invalidInput("this Idempotency-Key was used for a different release")) {
                _ = try await release(store, study, epsilon: 0.5, key: "release-1")
            }
        }
    }

    /// With no cell of k participants there is nothing to publish, so nothing is spent.
    @Test func aReleaseWithNothingToPublishSpendsNothing() async throws {
        try await withStudy(budget: 1.0, k: 5) { store, study in
            let outcome = try await release(store, study, epsilon: 0.5)
            #expect(outcome.release == nil && outcome.table.rows.isEmpty && outcome.table.suppressedCells == 3)
            #expect(try await store.privacyBudget(study: study.id)?.spent == 0)
        }
    }

    @Test func laplaceNoiseHasTheScaleItClaims() {
        var generator = SplitMix64(seed: 11)
        let mechanism = LaplaceMechanism(epsilon: 2)
        let scale = mechanism.scale(meanOf: 4, within: 0...1)
        #expect(scale == 0.125)
        let draws = (0..<40_000).map { _ in mechanism.noised(0, scale: scale, using: &generator) }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let meanAbsolute = draws.map(abs).reduce(0, +) / Double(draws.count)
        // Laplace(0, b): mean 0, E|X| = b; standard errors here are about 0.0009 and 0.0006.
        #expect(abs(mean) < 0.004, "mean \(mean)")
        #expect(abs(meanAbsolute - 0.125) < 0.003, "E|X| \(meanAbsolute)")
    }
}

/// A seeded generator: the same draws on every machine.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
