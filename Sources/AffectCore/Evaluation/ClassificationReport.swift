/// Accuracy, per-class precision and recall, macro-F1, confusion matrix and
/// expected calibration error for labelled expression predictions.
public struct ClassificationReport: Sendable, Codable, Hashable {
    /// Precision, recall and F1 for one class; `support` is how many samples carry the label.
    public struct ClassMetrics: Sendable, Codable, Hashable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    /// Samples scored, including those without a prediction.
    public var n: Int
    public var accuracy: Double
    /// Unweighted mean of the per-class F1 scores over classes with support.
    public var macroF1: Double
    public var perClass: [String: ClassMetrics]
    /// `confusion[true label][predicted label]`; samples without a prediction are counted apart.
    public var confusion: [String: [String: Int]]
    /// Expected calibration error of the top-class confidence over 15 equal-width bins.
    public var ece: Double
    /// Samples without a prediction (for example, no face was found); they count as errors.
    public var noFace: Int
    /// The reliability diagram behind ``ece``: per confidence bin with samples, the mean top-class
    /// confidence, how often the top class was right, and how many samples fell in it.
    public var reliability: [ReliabilityBin]

    /// One bin of the reliability diagram.
    public struct ReliabilityBin: Sendable, Codable, Hashable {
        public var confidence: Double
        public var accuracy: Double
        public var count: Int
    }

    enum CodingKeys: String, CodingKey {
        case n, accuracy, macroF1 = "macro_f1", perClass = "per_class", confusion, ece, noFace = "no_face", reliability
    }

    /// Builds the report. A nil prediction is an error that counts towards `noFace`.
    public init(samples: [(label: Emotion, prediction: EmotionDistribution?)], calibrationBins: Int = 15) {
        n = samples.count
        var confusionCounts = Array(repeating: Array(repeating: 0, count: 7), count: 7)
        var correct = 0
        var missing = 0
        var binCount = Array(repeating: 0, count: calibrationBins)
        var binConfidence = Array(repeating: 0.0, count: calibrationBins)
        var binCorrect = Array(repeating: 0, count: calibrationBins)
        for sample in samples {
            guard let prediction = sample.prediction else {
                missing += 1
                continue
            }
            let predicted = prediction.dominant
            confusionCounts[sample.label.index][predicted.index] += 1
            let hit = predicted == sample.label
            if hit { correct += 1 }
            let confidence = prediction[predicted]
            let bin = min(calibrationBins - 1, max(0, Int(confidence * Double(calibrationBins))))
            binCount[bin] += 1
            binConfidence[bin] += confidence
            if hit { binCorrect[bin] += 1 }
        }
        noFace = missing
        accuracy = n > 0 ? Double(correct) / Double(n) : 0
        var supports = Array(repeating: 0, count: 7)
        for sample in samples { supports[sample.label.index] += 1 }
        var metrics: [String: ClassMetrics] = [:]
        var f1Sum = 0.0, f1Classes = 0
        for emotion in Emotion.allCases {
            let i = emotion.index
            let truePositive = Double(confusionCounts[i][i])
            let predictedCount = Double((0..<7).reduce(0) { $0 + confusionCounts[$1][i] })
            let precision = predictedCount > 0 ? truePositive / predictedCount : 0
            let recall = supports[i] > 0 ? truePositive / Double(supports[i]) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            metrics[emotion.rawValue] = ClassMetrics(precision: precision, recall: recall, f1: f1, support: supports[i])
            if supports[i] > 0 {
                f1Sum += f1
                f1Classes += 1
            }
        }
        perClass = metrics
        macroF1 = f1Classes > 0 ? f1Sum / Double(f1Classes) : 0
        var table: [String: [String: Int]] = [:]
        for truth in Emotion.allCases {
            var row: [String: Int] = [:]
            for predicted in Emotion.allCases { row[predicted.rawValue] = confusionCounts[truth.index][predicted.index] }
            table[truth.rawValue] = row
        }
        confusion = table
        let predictedTotal = Double(n - missing)
        var error = 0.0
        var bins: [ReliabilityBin] = []
        if predictedTotal > 0 {
            for bin in 0..<calibrationBins where binCount[bin] > 0 {
                let count = Double(binCount[bin])
                error += count / predictedTotal * abs(Double(binCorrect[bin]) / count - binConfidence[bin] / count)
                bins.append(ReliabilityBin(confidence: binConfidence[bin] / count, accuracy: Double(binCorrect[bin]) / count,
                                           count: binCount[bin]))
            }
        }
        ece = error
        reliability = bins
    }
}
