import AffectCore
import Foundation
import Testing

/// Bias audit and coder agreement against figures worked out by hand.
@Suite struct AuditStatisticsTests {
    static func sure(_ emotion: Emotion) -> EmotionDistribution {
        var scores = Array(repeating: 0.1 / 6, count: 7)
        scores[emotion.index] = 0.9
        return EmotionDistribution(scores: scores) ?? .uniform
    }

    /// Group a: labels happy, happy, sad, sad; predicted happy, happy, sad, happy: accuracy 3/4;
    /// happy P 2/3 R 1 F1 0.8, sad P 1 R 1/2 F1 2/3, macro-F1 11/15; every prediction at 0.9, so
    /// ECE |0.75 - 0.9| = 0.15. Group b: predicted happy, sad, happy, sad: accuracy 1/2, both F1 1/2,
    /// ECE 0.4. Ratios: accuracy 2/3, macro-F1 (1/2) / (11/15) = 15/22, happy recall 1/2.
    static let samples: [BiasAudit.Sample] = [
        ("a", .happy, sure(.happy)), ("a", .happy, sure(.happy)), ("a", .sad, sure(.sad)), ("a", .sad, sure(.happy)),
        ("b", .happy, sure(.happy)), ("b", .happy, sure(.sad)), ("b", .sad, sure(.happy)), ("b", .sad, sure(.sad)),
    ]

    @Test func biasAuditFiguresAndVerdict() throws {
        let audit = BiasAudit(samples: Self.samples, minimumRatio: 0.8, resamples: 0)
        #expect(audit.groups.map(\.group) == ["a", "b"])
        let (a, b) = (audit.groups[0], audit.groups[1])
        #expect(a.n == 4 && b.n == 4)
        #expect(abs((a.accuracy?.value ?? 0) - 0.75) < 1e-12 && abs((b.accuracy?.value ?? 0) - 0.5) < 1e-12)
        #expect(abs((a.macroF1?.value ?? 0) - 11.0 / 15) < 1e-12 && abs((b.macroF1?.value ?? 0) - 0.5) < 1e-12)
        #expect(abs((a.ece?.value ?? 0) - 0.15) < 1e-9 && abs((b.ece?.value ?? 0) - 0.4) < 1e-9)
        #expect(a.accuracyRatio == 1 && abs((b.accuracyRatio ?? 0) - 2.0 / 3) < 1e-12)
        #expect(abs((b.macroF1Ratio ?? 0) - 15.0 / 22) < 1e-12)
        #expect(abs((b.eceDifference ?? 0) - 0.25) < 1e-9 && a.eceDifference == 0)
        #expect(b.recallRatio["happy"] == 0.5 && b.recallRatio["sad"] == 1)
        #expect(audit.failures == ["group b: accuracy ratio 0.67 < 0.80", "group b: macro-F1 ratio 0.68 < 0.80"])
        #expect(!audit.passed)
        #expect(BiasAudit(samples: Self.samples, minimumRatio: 0.6, resamples: 0).passed)
    }

    @Test func bootstrapIntervalsAreReproducibleAndHoldTheValue() throws {
        let first = BiasAudit(samples: Self.samples, minimumRatio: 0.8, resamples: 500, seed: 7)
        let again = BiasAudit(samples: Self.samples, minimumRatio: 0.8, resamples: 500, seed: 7)
        for (x, y) in zip(first.groups, again.groups) {
            #expect(x.accuracy == y.accuracy && x.macroF1 == y.macroF1 && x.ece == y.ece)
            let interval = try #require(x.accuracy)
            #expect(interval.low <= interval.value && interval.value <= interval.high && interval.low < interval.high)
        }
        let values = (0..<50).map(Double.init)
        let mean = { (items: [Double]) -> Double? in items.reduce(0, +) / Double(items.count) }
        #expect(Bootstrap.interval(values, resamples: 300, seed: 1, statistic: mean)
            == Bootstrap.interval(values, resamples: 300, seed: 1, statistic: mean))
        #expect(Bootstrap.interval(values, resamples: 300, seed: 1, statistic: mean)
            != Bootstrap.interval(values, resamples: 300, seed: 2, statistic: mean), "another seed, other resamples")
        // A bootstrap of a proportion of 8 items: the 95% interval is wide.
        let interval = try #require(Bootstrap.interval(Array(repeating: 1.0, count: 6) + [0, 0], resamples: 2000, seed: 3) {
            $0.reduce(0, +) / Double($0.count)
        })
        #expect(interval.value == 0.75 && interval.low <= 0.5 && interval.high == 1)
    }

    /// Ten frames: the person coded happy 4, neutral 3, sad 3; the model agreed on 3, 2 and 2.
    /// Observed 0.7; chance (4·4 + 3·4 + 3·2) / 100 = 0.34; kappa 0.36 / 0.66 = 6/11;
    /// standard error √(0.7 · 0.3 / (10 · 0.66²)) = 0.2195663.
    static let pairs: [(coder: Emotion, model: Emotion)] = [
        (.happy, .happy), (.happy, .happy), (.happy, .happy), (.happy, .neutral),
        (.neutral, .neutral), (.neutral, .neutral), (.neutral, .happy),
        (.sad, .sad), (.sad, .neutral), (.sad, .sad),
    ]

    @Test func cohensKappaAndPerClassAgreement() throws {
        let agreement = CoderAgreement(pairs: Self.pairs)
        #expect(agreement.n == 10)
        #expect(abs(agreement.observed - 0.7) < 1e-12 && abs(agreement.expected - 0.34) < 1e-12)
        #expect(abs((agreement.kappa ?? 0) - 6.0 / 11) < 1e-12)
        #expect(abs((agreement.kappaStandardError ?? 0) - 0.2195663) < 1e-6)
        #expect(abs((agreement.kappaLow ?? 0) - (6.0 / 11 - 1.96 * 0.2195663)) < 1e-6)
        let happy = try #require(agreement.perClass["happy"]), neutral = try #require(agreement.perClass["neutral"])
        let sad = try #require(agreement.perClass["sad"])
        #expect(happy.coder == 4 && happy.model == 4 && happy.both == 3 && happy.agreement == 0.75 && happy.modelRecall == 0.75)
        #expect(neutral.model == 4 && abs((neutral.agreement ?? 0) - 4.0 / 7) < 1e-12)
        #expect(sad.model == 2 && abs((sad.agreement ?? 0) - 0.8) < 1e-12 && abs((sad.modelRecall ?? 0) - 2.0 / 3) < 1e-12)
        #expect(agreement.perClass["fear"]?.agreement == nil)
        #expect(agreement.confusion["sad"]?["neutral"] == 1)
        // Perfect agreement on one class only: chance agreement is 1 and kappa is undefined.
        #expect(CoderAgreement(pairs: [(.happy, .happy), (.happy, .happy)]).kappa == nil)
    }
}
