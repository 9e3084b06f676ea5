/// An audience over stimulus time: the stored records of many contributors (participants in the
/// results API and reports, sessions on the live dashboard), averaged within each contributor per
/// bin first, then over contributors with 95% intervals (``AudienceBin``).
///
/// It is fed the records the store keeps (``MinimisedRecord``), never raw frame results, so it shows
/// no more than a study's mode allows. Bins with fewer than k contributors can be withheld
/// (``bins(minimumContributors:)``).
public struct AudienceTimeline: Sendable {
    public let binMilliseconds: Double
    private var series: [String: ContributorSeries] = [:]

    public init(binMilliseconds: Double = 500) {
        precondition(binMilliseconds > 0, "bins need a width")
        self.binMilliseconds = binMilliseconds
    }

    public var isEmpty: Bool { series.isEmpty }

    /// Adds one stored record of `contributor`; `recording` keeps two viewings by one contributor apart.
    public mutating func add(_ record: MinimisedRecord, contributor: String, recording: Int = 0) {
        var contributorSeries = series[contributor] ?? ContributorSeries(binMilliseconds: binMilliseconds)
        contributorSeries.add(record, recording: recording)
        series[contributor] = contributorSeries
    }

    /// Every contributor's cells by bin index.
    public var contributors: [String: [Int: ContributorSeries.Cell]] { series.mapValues(\.finished) }

    /// The bins with data, in time order.
    public var bins: [AudienceBin] { bins(minimumContributors: 1).bins }

    /// The bins with at least `k` contributors, and how many were withheld for having fewer: a
    /// withheld bin is left out entirely, its values and its count alike.
    public func bins(minimumContributors k: Int) -> (bins: [AudienceBin], suppressed: Int) {
        let finished = series.values.map(\.finished)
        var bins: [AudienceBin] = []
        var suppressed = 0
        for index in Set(finished.flatMap(\.keys)).sorted() {
            let cells = finished.compactMap { $0[index] }
            guard cells.count >= k else {
                suppressed += 1
                continue
            }
            bins.append(AudienceBin(timeMilliseconds: Double(index) * binMilliseconds, cells: cells,
                                    binMilliseconds: binMilliseconds))
        }
        return (bins, suppressed)
    }
}
