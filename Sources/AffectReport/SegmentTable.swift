import AffectCore
import AffectStore
import Foundation

/// Participants compared by one self-reported attribute (age band, region...), per stimulus: each
/// cell's means over the whole stimulus. A cell with fewer than k participants is withheld. With
/// differential privacy, every released mean carries Laplace noise and no interval (noise and
/// sampling error cannot be told apart in one interval); the noise scale is stated instead.
public struct SegmentTable: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public var stimulusId: String?
        public var stimulus: String
        public var value: String
        public var n: Int
        public var valence: StudyReport.Estimate?
        public var engagement: StudyReport.Estimate?
        /// Per expression in `Emotion.allCases` order.
        public var expressions: [StudyReport.Estimate?]
        /// With differential privacy: the Laplace scale of the noise on each mean (valence, engagement, expressions).
        public var noiseScale: [String: Double]?
    }

    public var attribute: String
    public var rows: [Row]
    /// Cells withheld for having fewer than k participants (their values and counts alike).
    public var suppressedCells: Int
    /// The ε this release spent (nil without differential privacy) and what is left of the study's budget.
    public var epsilon: Double?
    public var budgetRemaining: Double?

    /// How many means the table publishes (cells with at least k participants, each with its measures).
    var releasedValues: Int {
        rows.reduce(0) { count, row in
            count + [row.valence, row.engagement].compactMap { $0 }.count + row.expressions.compactMap { $0 }.count
        }
    }

    /// Adds Laplace noise to every released mean, spending `epsilon` in equal parts across them.
    mutating func addNoise<G: RandomNumberGenerator>(epsilon: Double, using generator: inout G) {
        let released = releasedValues
        guard released > 0 else {
            self.epsilon = epsilon
            return
        }
        let mechanism = LaplaceMechanism(epsilon: epsilon / Double(released))
        func noised(_ estimate: StudyReport.Estimate?, range: ClosedRange<Double>, name: String,
                    scales: inout [String: Double]) -> StudyReport.Estimate? {
            guard var estimate else { return nil }
            let scale = mechanism.scale(meanOf: estimate.n, within: range)
            estimate.mean = mechanism.noised(estimate.mean, scale: scale, using: &generator)
            estimate.low = nil
            estimate.high = nil
            scales[name] = scale
            return estimate
        }
        for index in rows.indices {
            var scales: [String: Double] = [:]
            rows[index].valence = noised(rows[index].valence, range: -1...1, name: "valence", scales: &scales)
            rows[index].engagement = noised(rows[index].engagement, range: 0...1, name: "engagement", scales: &scales)
            rows[index].expressions = zip(Emotion.allCases, rows[index].expressions).map { emotion, estimate in
                noised(estimate, range: 0...1, name: emotion.rawValue, scales: &scales)
            }
            rows[index].noiseScale = scales
        }
        self.epsilon = epsilon
    }
}

extension StudyReport {
    static func segments(by attribute: String, recordings: [Recording], stimuli: [String: Stimulus], k: Int) -> SegmentTable {
        var rows: [SegmentTable.Row] = []
        var suppressed = 0
        let byStimulus = Dictionary(grouping: recordings, by: \.stimulus)
        for stimulusID in byStimulus.keys.sorted(by: { ($0 ?? "") < ($1 ?? "") }) {
            let recordingsOfStimulus = byStimulus[stimulusID] ?? []
            let byValue = Dictionary(grouping: recordingsOfStimulus.filter { $0.segment?[attribute] != nil },
                                     by: { $0.segment?[attribute] ?? "" })
            for value in byValue.keys.sorted() {
                // Each participant's whole viewing pooled into one cell: the bin width does not matter here.
                var timeline = AudienceTimeline(binMilliseconds: 1000)
                for (index, recording) in (byValue[value] ?? []).enumerated() {
                    for record in recording.records { timeline.add(record, contributor: recording.participant, recording: index) }
                }
                let participants = timeline.contributors.mapValues { $0.values.reduce(ContributorSeries.Cell(), +) }
                guard participants.count >= k else {
                    suppressed += 1
                    continue
                }
                let summary = AudienceBin(timeMilliseconds: 0, cells: Array(participants.values))
                let stimulus = stimulusID.flatMap { stimuli[$0] }
                rows.append(SegmentTable.Row(
                    stimulusId: stimulusID,
                    stimulus: [stimulus?.name ?? stimulusID ?? "(no stimulus)", stimulus?.variant].compactMap { $0 }.joined(separator: " "),
                    value: value, n: participants.count, valence: summary.valence, engagement: summary.engagement,
                    expressions: summary.expressions, noiseScale: nil))
            }
        }
        return SegmentTable(attribute: attribute, rows: rows, suppressedCells: suppressed, epsilon: nil, budgetRemaining: nil)
    }
}
