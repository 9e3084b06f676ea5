import AffectCore
import Foundation
import Testing

@Suite struct EmotionDistributionTests {
    @Test func normalisesScoresToSumToOne() throws {
        let distribution = try #require(EmotionDistribution(scores: [1, 0, 0, 2, 0, 0, 1] as [Double]))
        #expect(abs(distribution.probabilities.reduce(0, +) - 1) < 1e-12)
        #expect(distribution[.happy] == 0.5)
        #expect(distribution[.angry] == 0.25)
        #expect(distribution.dominant == .happy)
    }

    @Test func rejectsInvalidScores() {
        #expect(EmotionDistribution(scores: [1, 2, 3] as [Double]) == nil)
        #expect(EmotionDistribution(scores: [0, 0, 0, 0, 0, 0, 0] as [Double]) == nil)
        #expect(EmotionDistribution(scores: [1, -1, 0, 0, 0, 0, 1] as [Double]) == nil)
        #expect(EmotionDistribution(scores: [1, .nan, 0, 0, 0, 0, 1] as [Double]) == nil)
    }

    @Test func classOrderIsTheModelOrder() {
        #expect(Emotion.allCases.map(\.rawValue) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
        for emotion in Emotion.allCases { #expect(Emotion.allCases[emotion.index] == emotion) }
    }

    @Test func readsDataSetLabelSpellings() {
        #expect(Emotion(label: "Anger") == .angry)
        #expect(Emotion(label: "happiness") == .happy)
        #expect(Emotion(label: "sadness") == .sad)
        #expect(Emotion(label: "surprised") == .surprise)
        #expect(Emotion(label: "contempt") == nil)
    }

    @Test func excludingRenormalisesTheRest() throws {
        let distribution = try #require(EmotionDistribution(scores: [0.1, 0, 0, 0.6, 0, 0, 0.3] as [Double]))
        let without = try #require(distribution.excluding([.happy]))
        #expect(without[.happy] == 0)
        #expect(abs(without[.angry] - 0.25) < 1e-12)
        #expect(abs(without[.neutral] - 0.75) < 1e-12)
        #expect(EmotionDistribution(scores: [0, 0, 0, 1, 0, 0, 0] as [Double])?.excluding([.happy]) == nil)
    }

    @Test func meanAveragesElementWise() throws {
        let a = try #require(EmotionDistribution(scores: [1, 0, 0, 0, 0, 0, 0] as [Double]))
        let b = try #require(EmotionDistribution(scores: [0, 0, 0, 1, 0, 0, 0] as [Double]))
        let mean = try #require(EmotionDistribution.mean([a, b]))
        #expect(mean[.angry] == 0.5 && mean[.happy] == 0.5)
        #expect(EmotionDistribution.mean([EmotionDistribution]()) == nil)
    }

    @Test func encodesAsObjectKeyedByName() throws {
        let distribution = try #require(EmotionDistribution(scores: [0, 0, 0, 1, 0, 0, 1] as [Double]))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(distribution)) as? [String: Double]
        #expect(json == ["angry": 0, "disgust": 0, "fear": 0, "happy": 0.5, "sad": 0, "surprise": 0, "neutral": 0.5])
        let decoded = try JSONDecoder().decode(EmotionDistribution.self, from: JSONEncoder().encode(distribution))
        #expect(decoded == distribution)
    }
}

@Suite struct CircumplexTests {
    @Test func certainCategoryMapsToItsPosition() throws {
        for emotion in Emotion.allCases {
            var scores = [Double](repeating: 0, count: 7)
            scores[emotion.index] = 1
            let point = Circumplex(try #require(EmotionDistribution(scores: scores)))
            #expect(point == Circumplex.position(of: emotion))
        }
    }

    @Test func signsFollowTheCircumplex() {
        #expect(Circumplex.position(of: .happy).valence > 0.8)
        #expect(Circumplex.position(of: .sad).valence < 0 && Circumplex.position(of: .sad).arousal < 0)
        #expect(Circumplex.position(of: .angry).valence < 0 && Circumplex.position(of: .angry).arousal > 0)
        #expect(Circumplex.position(of: .surprise).arousal > 0.9)
        #expect(Circumplex.position(of: .neutral) == Circumplex(valence: 0, arousal: 0))
    }

    @Test func isTheProbabilityWeightedMean() throws {
        let distribution = try #require(EmotionDistribution(scores: [0, 0, 0, 0.5, 0.5, 0, 0] as [Double]))
        let point = Circumplex(distribution)
        let happy = Circumplex.position(of: .happy), sad = Circumplex.position(of: .sad)
        #expect(abs(point.valence - (happy.valence + sad.valence) / 2) < 1e-12)
        #expect(abs(point.arousal - (happy.arousal + sad.arousal) / 2) < 1e-12)
        #expect(abs(point.valence) <= 1 && abs(point.arousal) <= 1)
    }
}
