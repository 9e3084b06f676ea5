/// The audience's mean expression probabilities over stimulus time, in fixed bins: what the live
/// dashboard draws while sessions run.
///
/// It is fed the records the store keeps (``MinimisedRecord``), never raw frame results, so it shows
/// no more than a study's mode allows: a window record counts in every bin it overlaps, a frame
/// record in the bin of its time. Each bin is a plain mean over records, per expression over the
/// records that report it (opted-out expressions are absent, not zero), with the number of
/// contributors behind it: sessions on the live dashboard, participants in the results API, where
/// bins with fewer than the study's k are suppressed (``points(minimumContributors:)``).
public struct AudienceTimeline: Sendable {
    /// One bin as drawn.
    public struct Point: Sendable, Hashable, Codable {
        /// Start of the bin on the stimulus clock.
        public var timeMilliseconds: Double
        /// Contributors (sessions or participants, as added) with at least one record in the bin.
        public var contributors: Int
        /// Mean probability per expression in `Emotion.allCases` order; nil where no record reports it.
        public var means: [Double?]
        /// Mean valence of the records (Russell's circumplex; see ``Circumplex``).
        public var valence: Double?

        enum CodingKeys: String, CodingKey {
            case timeMilliseconds = "t_ms", contributors, means, valence
        }
    }

    private struct Bin: Sendable {
        var sums = [Double](repeating: 0, count: Emotion.allCases.count)
        var counts = [Int](repeating: 0, count: Emotion.allCases.count)
        var valenceSum = 0.0
        var records = 0
        var contributors = Set<String>()
    }

    public let binMilliseconds: Double
    private var bins: [Int: Bin] = [:]

    public init(binMilliseconds: Double = 500) {
        precondition(binMilliseconds > 0, "bins need a width")
        self.binMilliseconds = binMilliseconds
    }

    public var isEmpty: Bool { bins.isEmpty }

    /// Adds one stored record of `contributor` (a session or a participant); moments and records
    /// without a face add nothing.
    public mutating func add(_ record: MinimisedRecord, contributor: String) {
        switch record {
        case .face(let row): add(row.emotions, from: row.timeMilliseconds, to: row.timeMilliseconds, contributor: contributor)
        case .group(let row):
            if let emotions = row.emotions { add(emotions, from: row.timeMilliseconds, to: row.timeMilliseconds, contributor: contributor) }
        case .window(let row):
            // A window ends where the next begins: it covers [start, end).
            if let emotions = row.emotions {
                add(emotions, from: row.startMilliseconds, to: max(row.startMilliseconds, row.endMilliseconds - 1e-6),
                    contributor: contributor)
            }
        case .moment, .noFace: break
        }
    }

    private mutating func add(_ emotions: ReportedEmotions, from start: Double, to end: Double, contributor: String) {
        guard start.isFinite, end.isFinite, start >= 0 else { return }
        let valence = Circumplex(emotions).valence
        for index in Int(start / binMilliseconds)...Int(end / binMilliseconds) {
            var bin = bins[index] ?? Bin()
            for (slot, probability) in emotions.probabilities.enumerated() {
                guard let probability else { continue }
                bin.sums[slot] += probability
                bin.counts[slot] += 1
            }
            bin.valenceSum += valence
            bin.records += 1
            bin.contributors.insert(contributor)
            bins[index] = bin
        }
    }

    /// The bins with data, in time order.
    public var points: [Point] { points(minimumContributors: 1).points }

    /// The bins with at least `k` contributors, and how many bins were withheld for having fewer:
    /// a withheld bin is left out entirely, its values and its count alike.
    public func points(minimumContributors k: Int) -> (points: [Point], suppressed: Int) {
        var suppressed = 0
        let points = bins.keys.sorted().compactMap { index -> Point? in
            guard let bin = bins[index] else { return nil }
            guard bin.contributors.count >= k else {
                suppressed += 1
                return nil
            }
            return Point(timeMilliseconds: Double(index) * binMilliseconds, contributors: bin.contributors.count,
                         means: zip(bin.sums, bin.counts).map { $1 > 0 ? $0 / Double($1) : nil },
                         valence: bin.records > 0 ? bin.valenceSum / Double(bin.records) : nil)
        }
        return (points, suppressed)
    }
}
