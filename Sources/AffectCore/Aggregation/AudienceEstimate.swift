/// A mean over contributors (participants, or live sessions) with its 95% Student t interval (no
/// bounds below two contributors). The interval is cut to the measure's possible range (0 to 1 for
/// probabilities and engagement, −1 to 1 for valence and arousal): with few contributors the t
/// interval can reach past it.
public struct AudienceEstimate: Sendable, Codable, Hashable {
    public var mean: Double
    public var low: Double?
    public var high: Double?
    public var n: Int

    public init?(_ values: [Double], range: ClosedRange<Double>) {
        guard let summary = SampleSummary(values) else { return nil }
        mean = summary.mean
        n = summary.count
        let interval = summary.meanInterval()
        low = interval.map { max(range.lowerBound, $0.lowerBound) }
        high = interval.map { min(range.upperBound, $0.upperBound) }
    }
}

/// The audience in one bin of stimulus time: every measure as an ``AudienceEstimate`` over the
/// contributors with data in the bin. The same type serves the results API, the live dashboard and
/// reports.
public struct AudienceBin: Sendable, Codable {
    public var timeMilliseconds: Double
    /// Contributors with data in the bin.
    public var n: Int
    /// Per expression in `Emotion.allCases` order; nil where no contributor reports it.
    public var expressions: [AudienceEstimate?]
    public var valence: AudienceEstimate?
    public var arousal: AudienceEstimate?
    /// Share of each contributor's analysed frames in the bin with an engaged face, averaged: the
    /// attention curve where faces are measured (``Attention``), else faces looking roughly at the camera.
    public var engagement: AudienceEstimate?
    /// Share of each contributor's analysed frames with an attending face, over contributors whose
    /// faces were measured (studies with measures); nil otherwise.
    public var attention: AudienceEstimate?
    /// Per ``MeasureSummary/Name``: the mean over contributors of each one's mean (head pose and gaze in
    /// degrees, eyes and mouth 0 to 1, geometry ratios); empty without measures.
    public var measures: [String: AudienceEstimate]
    /// Blinks per minute, over measured contributors. Blinks need about 15 analysed frames per second;
    /// at lower rates most are missed and this reads low.
    public var blinkRate: AudienceEstimate?

    enum CodingKeys: String, CodingKey {
        case timeMilliseconds = "t_ms", n, expressions, valence, arousal, engagement, attention, measures
        case blinkRate = "blink_rate"
    }

    /// The audience of one bin from its contributors' cells.
    /// - Parameter binMilliseconds: the bin's width, for blink rates; 0 (a summary pooled over many bins) gives none.
    public init(timeMilliseconds: Double, cells: [ContributorSeries.Cell], binMilliseconds: Double = 0) {
        self.timeMilliseconds = timeMilliseconds
        n = cells.count
        expressions = Emotion.allCases.indices.map { slot in AudienceEstimate(cells.compactMap { $0.expression(slot) }, range: 0...1) }
        valence = AudienceEstimate(cells.compactMap(\.meanValence), range: -1...1)
        arousal = AudienceEstimate(cells.compactMap(\.meanArousal), range: -1...1)
        engagement = AudienceEstimate(cells.compactMap(\.engagement), range: 0...1)
        // Most studies measure no faces: their bins (drawn twice a second on the dashboard) skip the rest.
        guard cells.contains(where: { $0.attention != nil }) else {
            attention = nil
            measures = [:]
            blinkRate = nil
            return
        }
        attention = AudienceEstimate(cells.compactMap(\.attention), range: 0...1)
        var measures: [String: AudienceEstimate] = [:]
        for name in MeasureSummary.Name.allCases {
            measures[name.rawValue] = AudienceEstimate(cells.compactMap { $0.measure(name) }, range: name.range)
        }
        self.measures = measures
        blinkRate = AudienceEstimate(cells.compactMap { $0.blinkRate(binMilliseconds: binMilliseconds) }, range: 0...600)
    }

    /// Keeps only one expression's estimate (the others become nil).
    public func keeping(only emotion: Emotion) -> AudienceBin {
        var kept = self
        kept.expressions = Emotion.allCases.map { $0 == emotion ? expressions[$0.index] : nil }
        return kept
    }
}
