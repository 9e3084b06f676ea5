/// The steps a live engine takes under load, cheapest loss of quality first,
/// before it would ever drop a stream.
public struct LoadLadder: Sendable {
    public enum Step: Int, Sendable, Hashable, Codable, Comparable, CaseIterable {
        /// Every stream at its own sampling policy.
        case normal
        /// Every stream's sampling rate halved.
        case reducedRate
        /// As above, and faces are detected only every few analysed frames, classified at their tracked boxes in between.
        case trackBetweenDetections
        /// As above, and the cheaper detector (BlazeFace) replaces CenterFace.
        case cheaperDetector

        public static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The name used in logs and reports.
        public var name: String {
            switch self {
            case .normal: "normal"
            case .reducedRate: "reduced-rate"
            case .trackBetweenDetections: "track-between-detections"
            case .cheaperDetector: "cheaper-detector"
            }
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// Step up when the p95 frame-to-result latency over the window exceeds this.
        public var highLatencyMilliseconds: Double = 150
        /// Step down only while the p95 stays below this.
        public var lowLatencyMilliseconds: Double = 60
        /// Step up when more than this share of sampled frames was dropped over the window.
        public var highDropShare: Double = 0.2
        /// The drop share counts only over a window with at least this many sampled frames: two frames
        /// of a stream that has just started, one of them replaced in a burst, are not 50% overload (a
        /// WebRTC track's first frames come out of the decoder together).
        public var minimumSamplesForDrops = 10
        public var windowMilliseconds: Double = 1000
        /// Minimum time between two steps up.
        public var cooldownMilliseconds: Double = 1000
        /// Time load must stay low before a step down.
        public var recoveryMilliseconds: Double = 3000
        /// The highest step this engine may take.
        public var highestStep: Step = .cheaperDetector
        /// The last resort: when still overloaded this long at the highest step, one stream is shed.
        /// Nil never sheds.
        public var shedAfterMilliseconds: Double? = 5000

        public init() {}
    }

    /// One change of step, for logs and reports.
    public struct Change: Sendable, Hashable, Codable {
        public var timeMilliseconds: Double
        public var from: Step
        public var to: Step
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case timeMilliseconds = "t_ms", from, to, reason
        }
    }

    public let configuration: Configuration
    public private(set) var step: Step = .normal
    private var samples: [(time: Double, latency: Double?)] = []
    private var lastChange = -Double.infinity
    private var calmSince: Double?
    private var overloadedAtTopSince: Double?

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Records one analysed frame's latency; returns a step change if this observation caused one.
    public mutating func observe(latencyMilliseconds: Double, at time: Double) -> Change? {
        samples.append((time, latencyMilliseconds))
        return evaluate(at: time)
    }

    /// Records one sampled frame that was dropped before analysis.
    public mutating func observeDrop(at time: Double) -> Change? {
        samples.append((time, nil))
        return evaluate(at: time)
    }

    private mutating func evaluate(at time: Double) -> Change? {
        samples.removeAll { $0.time < time - configuration.windowMilliseconds }
        let latencies = samples.compactMap(\.latency).sorted()
        guard !samples.isEmpty else { return nil }
        // Nearest-rank percentile: with fewer than 20 samples one outlier is not the p95.
        let rank = Int((Double(latencies.count) * 0.95).rounded(.up)) - 1
        let p95 = latencies.isEmpty ? 0 : latencies[max(0, min(latencies.count - 1, rank))]
        let dropShare = Double(samples.count - latencies.count) / Double(samples.count)
        let overloaded = p95 > configuration.highLatencyMilliseconds
            || (dropShare > configuration.highDropShare && samples.count >= configuration.minimumSamplesForDrops)
        if overloaded {
            calmSince = nil
            if step == configuration.highestStep {
                overloadedAtTopSince = overloadedAtTopSince ?? time
            }
            guard step < configuration.highestStep, time - lastChange >= configuration.cooldownMilliseconds,
                  let next = Step(rawValue: step.rawValue + 1) else { return nil }
            let reason = p95 > configuration.highLatencyMilliseconds
                ? "p95 latency \(Int(p95)) ms > \(Int(configuration.highLatencyMilliseconds)) ms"
                : "dropped \(Int(dropShare * 100))% of sampled frames"
            return change(to: next, at: time, reason: reason)
        }
        overloadedAtTopSince = nil
        let calm = p95 < configuration.lowLatencyMilliseconds && dropShare == 0
        guard calm else {
            calmSince = nil
            return nil
        }
        let since = calmSince ?? time
        calmSince = since
        guard step > .normal, time - since >= configuration.recoveryMilliseconds,
              let previous = Step(rawValue: step.rawValue - 1) else { return nil }
        calmSince = time
        return change(to: previous, at: time, reason: "p95 latency \(Int(p95)) ms, no drops for \(Int(configuration.recoveryMilliseconds)) ms")
    }

    /// True when every step has been taken and load has stayed too high for `shedAfterMilliseconds`:
    /// the engine should stop one stream. Call ``streamShed(at:)`` when it does.
    public func shouldShedStream(at time: Double) -> Bool {
        guard let limit = configuration.shedAfterMilliseconds, let since = overloadedAtTopSince else { return false }
        return time - since >= limit
    }

    /// Starts the wait for the next shed afresh, and judges load anew without the shed stream.
    public mutating func streamShed(at time: Double) {
        overloadedAtTopSince = nil
        samples.removeAll()
    }

    private mutating func change(to next: Step, at time: Double, reason: String) -> Change {
        let change = Change(timeMilliseconds: time, from: step, to: next, reason: reason)
        step = next
        lastChange = time
        samples.removeAll()
        return change
    }
}
