import AffectCore
import Testing

@Suite struct ClassificationReportTests {
    func certain(_ emotion: Emotion, confidence: Double = 1) -> EmotionDistribution? {
        var scores = [Double](repeating: (1 - confidence) / 6, count: 7)
        scores[emotion.index] = confidence
        return EmotionDistribution(scores: scores)
    }

    /// Four happy and two sad images: happy → happy, happy, happy, sad; sad → sad, no face.
    @Test func matchesHandComputedFigures() {
        let report = ClassificationReport(samples: [
            (.happy, certain(.happy)), (.happy, certain(.happy)), (.happy, certain(.happy)), (.happy, certain(.sad)),
            (.sad, certain(.sad)), (.sad, nil),
        ])
        #expect(report.n == 6)
        #expect(report.noFace == 1)
        #expect(abs(report.accuracy - 4.0 / 6.0) < 1e-12)
        let happy = report.perClass["happy"], sad = report.perClass["sad"]
        #expect(happy?.precision == 1 && happy?.recall == 0.75 && happy?.support == 4)
        #expect(sad?.precision == 0.5 && sad?.recall == 0.5 && sad?.support == 2)
        // F1: happy 2*1*0.75/1.75 = 6/7, sad 0.5; macro over the two classes with support.
        #expect(abs(report.macroF1 - (6.0 / 7.0 + 0.5) / 2) < 1e-12)
        #expect(report.confusion["happy"]?["sad"] == 1)
        #expect(report.confusion["sad"]?["sad"] == 1)
        // All five predictions have confidence 1: one bin, accuracy 4/5, ECE = |0.8 - 1|.
        #expect(abs(report.ece - 0.2) < 1e-12)
    }

    @Test func perfectlyCalibratedPredictionsHaveZeroError() {
        // Confidence 0.5 (bin 7 of 15): half right, half wrong.
        let report = ClassificationReport(samples: [
            (.happy, certain(.happy, confidence: 0.5)), (.sad, certain(.happy, confidence: 0.5)),
        ])
        #expect(abs(report.ece) < 1e-12)
        #expect(report.accuracy == 0.5)
    }

    @Test func medianOfEvenAndOddCounts() {
        #expect(Quantiles.median([3, 1, 2]) == 2)
        #expect(Quantiles.median([4, 1, 3, 2]) == 2.5)
        #expect(Quantiles.median([]) == nil)
    }
}

@Suite struct TemperatureScalingTests {
    /// An over-confident classifier: it always says 0.9 for its choice and is right 60% of the time.
    static let samples: [(label: Emotion, prediction: EmotionDistribution)] = (0..<100).map { index in
        let scores = [0.9] + Array(repeating: 0.1 / 6, count: 6)
        return (index % 10 < 6 ? .angry : .happy, EmotionDistribution(scores: scores) ?? .uniform)
    }

    @Test func fittingSoftensAnOverConfidentModelAndKeepsItsChoice() {
        let fitted = TemperatureScaling.fit(Self.samples)
        #expect(fitted.temperature > 1)
        #expect(fitted.negativeLogLikelihood(Self.samples) < TemperatureScaling(temperature: 1).negativeLogLikelihood(Self.samples))
        let scaled = fitted.apply(Self.samples[0].prediction)
        #expect(scaled.dominant == .angry)
        // Right 60% of the time: the calibrated top probability is 0.6.
        #expect(abs(scaled[.angry] - 0.6) < 0.01, "\(scaled[.angry])")
        let before = ClassificationReport(samples: Self.samples.map { ($0.label, $0.prediction) })
        let after = ClassificationReport(samples: Self.samples.map { ($0.label, fitted.apply($0.prediction)) })
        #expect(abs(before.ece - 0.3) < 1e-9 && after.ece < 0.01)
        #expect(before.reliability.count == 1 && before.reliability[0].count == 100)
    }

    @Test func identityAndEmptyInput() {
        let distribution = EmotionDistribution(scores: [1, 2, 3, 4, 5, 6, 7] as [Double]) ?? .uniform
        #expect(TemperatureScaling(temperature: 1).apply(distribution) == distribution)
        #expect(TemperatureScaling.fit([]).temperature == 1)
    }
}
