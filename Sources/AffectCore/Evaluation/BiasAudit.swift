import Foundation

/// How the expression model does for each group of a labelled set, and how far the worst group falls
/// behind the best: the audit the privacy literature asks for after every model change.
///
/// Accuracy and macro-F1 decide the verdict: a group whose value is under `minimumRatio` times the best
/// group's fails it. Per-class recall and ECE are reported with their ratios and differences but do not
/// decide, since a small group's per-class figures rest on a handful of images (their intervals say so).
public struct BiasAudit: Sendable, Codable {
    public struct GroupResult: Sendable, Codable {
        public var group: String
        public var n: Int
        public var noFace: Int
        public var accuracy: Bootstrap.Interval?
        public var macroF1: Bootstrap.Interval?
        /// Lower is better.
        public var ece: Bootstrap.Interval?
        /// Per expression with at least one image in the group.
        public var recall: [String: Bootstrap.Interval]
        /// This group's value over the best group's.
        public var accuracyRatio: Double?
        public var macroF1Ratio: Double?
        public var recallRatio: [String: Double]
        /// This group's ECE minus the best (lowest) group's.
        public var eceDifference: Double?

        enum CodingKeys: String, CodingKey {
            case group, n, accuracy, ece, recall
            case noFace = "no_face"
            case macroF1 = "macro_f1"
            case accuracyRatio = "accuracy_ratio"
            case macroF1Ratio = "macro_f1_ratio"
            case recallRatio = "recall_ratio"
            case eceDifference = "ece_difference"
        }
    }

    public var groups: [GroupResult]
    public var minimumRatio: Double
    public var resamples: Int
    public var seed: UInt64
    /// One line per ratio under the minimum, e.g. "group dark: accuracy ratio 0.71 < 0.80".
    public var failures: [String]

    public var passed: Bool { failures.isEmpty }

    enum CodingKeys: String, CodingKey {
        case groups, resamples, seed, failures, passed
        case minimumRatio = "min_ratio"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(groups, forKey: .groups)
        try container.encode(minimumRatio, forKey: .minimumRatio)
        try container.encode(resamples, forKey: .resamples)
        try container.encode(seed, forKey: .seed)
        try container.encode(failures, forKey: .failures)
        try container.encode(passed, forKey: .passed)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        groups = try container.decode([GroupResult].self, forKey: .groups)
        minimumRatio = try container.decode(Double.self, forKey: .minimumRatio)
        resamples = try container.decode(Int.self, forKey: .resamples)
        seed = try container.decode(UInt64.self, forKey: .seed)
        failures = try container.decode([String].self, forKey: .failures)
    }

    public typealias Sample = (group: String, label: Emotion, prediction: EmotionDistribution?)

    /// Audits `samples`; groups are reported in name order. Intervals come from `resamples` bootstrap
    /// resamples of each group's images, with a fixed `seed` so the figures can be reproduced.
    public init(samples: [Sample], minimumRatio: Double, resamples: Int = 1000, seed: UInt64 = 1) {
        self.minimumRatio = minimumRatio
        self.resamples = resamples
        self.seed = seed
        let byGroup = Dictionary(grouping: samples, by: \.group)
        typealias Item = (label: Emotion, prediction: EmotionDistribution?)
        func report(_ items: [Item]) -> ClassificationReport { ClassificationReport(samples: items) }
        var results: [GroupResult] = []
        for (offset, name) in byGroup.keys.sorted().enumerated() {
            let items: [Item] = (byGroup[name] ?? []).map { ($0.label, $0.prediction) }
            let whole = report(items)
            let classes = Emotion.allCases.filter { (whole.perClass[$0.rawValue]?.support ?? 0) > 0 }
            // One report per resample gives every statistic: accuracy, macro-F1, ECE, then each class's recall.
            let found = Bootstrap.intervals(items, count: 3 + classes.count, resamples: resamples,
                                            seed: seed &+ UInt64(offset)) { sample in
                let r = report(sample)
                return [r.accuracy, r.macroF1, r.ece] + classes.map { emotion in
                    (r.perClass[emotion.rawValue]?.support ?? 0) > 0 ? r.perClass[emotion.rawValue]?.recall : nil
                }
            }
            var recall: [String: Bootstrap.Interval] = [:]
            for (index, emotion) in classes.enumerated() { recall[emotion.rawValue] = found[3 + index] }
            results.append(GroupResult(group: name, n: whole.n, noFace: whole.noFace, accuracy: found[0],
                                       macroF1: found[1], ece: found[2], recall: recall,
                                       accuracyRatio: nil, macroF1Ratio: nil, recallRatio: [:], eceDifference: nil))
        }
        let bestAccuracy = results.compactMap { $0.accuracy?.value }.max()
        let bestF1 = results.compactMap { $0.macroF1?.value }.max()
        let bestECE = results.compactMap { $0.ece?.value }.min()
        var failures: [String] = []
        func ratio(_ value: Double?, _ best: Double?) -> Double? {
            guard let value, let best, best > 0 else { return nil }
            return value / best
        }
        for index in results.indices {
            var result = results[index]
            result.accuracyRatio = ratio(result.accuracy?.value, bestAccuracy)
            result.macroF1Ratio = ratio(result.macroF1?.value, bestF1)
            result.eceDifference = result.ece.flatMap { ece in bestECE.map { ece.value - $0 } }
            for (name, value) in result.recall {
                let best = results.compactMap { $0.recall[name]?.value }.max()
                result.recallRatio[name] = ratio(value.value, best)
            }
            for (metric, value) in [("accuracy", result.accuracyRatio), ("macro-F1", result.macroF1Ratio)] {
                if let value, value < minimumRatio {
                    failures.append("group \(result.group): \(metric) ratio \(Self.format(value)) < \(Self.format(minimumRatio))")
                }
            }
            results[index] = result
        }
        groups = results
        self.failures = failures
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
