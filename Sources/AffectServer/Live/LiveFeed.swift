import AffectCore
import Foundation
import Synchronization

/// What the live dashboard sees: each capture session's health and the records the store kept for
/// it, and per stimulus the audience timeline over those sessions. Subscribers get a snapshot, then
/// every change.
///
/// The feed holds only records the store holds (``MinimisedRecord``), so the dashboard shows no more
/// than the study's mode keeps. A withdrawn session leaves the feed at once, with its share of the
/// audience timeline; an ended one after ``retentionSeconds``, since a deletion made by another process
/// (`affect subject delete`, a purge) cannot reach this memory.
public final class LiveFeed: Sendable {
    /// A session as the dashboard lists it.
    public struct SessionStatus: Sendable, Codable, Hashable {
        /// `interrupted`: the page's connection dropped without ending; it may resume through its link.
        public enum State: String, Sendable, Codable { case running, ended, withdrawn, failed, interrupted }

        public var session: String
        public var study: String
        public var stimulus: String?
        public var mode: ProcessingMode
        public var state: State
        /// Why a session failed or was closed by the server.
        public var reason: String?
        public var startedAt: Int64
        /// How many times the session was started or resumed: the newest capture's status wins.
        public var epoch: Int64 = 1
        /// The node running it, when another node does (several servers on one PostgreSQL).
        public var node: String?
        public var framesReceived = 0
        public var framesAnalysed = 0
        /// Analysed frames per second over the last few seconds.
        public var analysedFps = 0.0
        /// The rate the server asks the page to send at.
        public var requestedFps: Double?
        public var latencyP50Ms: Double?
        public var latencyP95Ms: Double?
        /// Frames not analysed: replaced before a worker was free, or dropped by the load ladder.
        public var dropped = 0
        public var recordsWritten = 0
        /// The latest stimulus time seen.
        public var mediaMs: Double?
    }

    /// One stored record as a point of a session's timeline.
    public struct SessionPoint: Sendable, Codable, Hashable {
        public var timeMilliseconds: Double
        public var means: [Double?]
        public var valence: Double

        enum CodingKeys: String, CodingKey { case timeMilliseconds = "t_ms", means, valence }
    }

    public enum Event: Sendable {
        case status(SessionStatus)
        case points(session: String, [SessionPoint])
        /// A session left the feed (withdrawn, or ended long enough ago).
        case removed(session: String)
        case audience(stimulus: String?, [AudienceBin])
        /// Nothing happened for a while: lets a stream notice a client that went away.
        case heartbeat
    }

    public struct Snapshot: Sendable, Codable {
        public struct Session: Sendable, Codable {
            public var status: SessionStatus
            public var points: [SessionPoint]
        }

        public struct Audience: Sendable, Codable {
            public var stimulus: String?
            public var points: [AudienceBin]
        }

        public var sessions: [Session]
        public var audiences: [Audience]
    }

    private struct Entry {
        var status: SessionStatus
        var records: [MinimisedRecord] = []
        var endedAt: Date?
        /// Run by another node: mirrored from what it published (``mirror(_:)``), not published again.
        var remote = false
        /// The media time its records reach (``LiveFeed/mediaEnd(of:)``), kept as they are added.
        var latest: Double?
    }

    public let retentionSeconds: Double
    public let binMilliseconds: Double
    /// Everything that changes, behind one lock.
    private let state: Mutex<State>

    public init(retentionSeconds: Double = 600, binMilliseconds: Double = 500) {
        self.retentionSeconds = retentionSeconds
        self.binMilliseconds = binMilliseconds
        state = Mutex(State(retentionSeconds: retentionSeconds, binMilliseconds: binMilliseconds))
        Task { [weak self] in
            while true {
                do {
                    // Held only for the tick: the feed goes when its server does.
                    guard let feed = self else { return }
                    feed.tick()
                }
                try? await Task.sleep(for: .seconds(15))
            }
        }
    }

    /// The current state, and a stream of every change after it (ends when `cancel` is called).
    public func subscribe() -> (Snapshot, AsyncStream<Event>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = UUID()
        let snapshot = state.withLock { state in
            state.expireEnded()
            state.subscribers[id] = continuation
            return state.makeSnapshot()
        }
        let cancel: @Sendable () -> Void = { [weak self] in
            self?.state.withLock { $0.subscribers[id] = nil }
            continuation.finish()
        }
        continuation.onTermination = { _ in cancel() }
        return (snapshot, stream, cancel)
    }

    public func snapshot() -> Snapshot {
        state.withLock { state in
            state.expireEnded()
            return state.makeSnapshot()
        }
    }

    func update(_ status: SessionStatus) {
        state.withLock { state in
            // An older capture of a session a newer one runs on another node reports no more.
            if let current = state.entries[status.session], current.remote, current.status.epoch > status.epoch { return }
            var entry = state.entries[status.session] ?? Entry(status: status)
            entry.status = status
            entry.remote = false
            if status.state != .running, entry.endedAt == nil { entry.endedAt = Date() }
            state.entries[status.session] = entry
            state.publish(.status(status))
            if status.state != .running { state.publishAudience(stimulus: status.stimulus, force: true) }
        }
    }

    /// Adds records the store just kept for a session.
    func add(_ records: [MinimisedRecord], session: String) {
        let points = records.compactMap(Self.point(of:))
        guard !points.isEmpty else { return }
        state.withLock { state in
            guard var entry = state.entries[session] else { return }
            entry.records += records
            if let end = records.compactMap(LiveFeed.mediaEnd(of:)).max() { entry.latest = max(entry.latest ?? end, end) }
            state.entries[session] = entry
            let stimulus = entry.status.stimulus
            var timeline = state.audiences[stimulus] ?? AudienceTimeline(binMilliseconds: binMilliseconds)
            for record in records { timeline.add(record, contributor: session) }
            state.audiences[stimulus] = timeline
            state.publish(.points(session: session, points))
            state.publishAudience(stimulus: stimulus, force: false)
        }
    }

    /// The sessions this node runs or ran, as its dashboard shows them: what it publishes for the others.
    func localStatuses() -> [SessionStatus] {
        state.withLock { state in
            state.expireEnded()
            return state.entries.values.filter { !$0.remote }.map(\.status)
        }
    }

    /// Shows the sessions other nodes run as those nodes last published them: new ones are added,
    /// changed ones updated, and those no node publishes any more are removed. A session this node
    /// runs keeps its own status unless a newer capture of it (a higher epoch: the page resumed on
    /// another node) or a running one elsewhere replaces it. Returns the remote sessions and how
    /// the media time each one's records here reach, for the caller to fetch what they stored since.
    @discardableResult
    func mirror(_ remote: [SessionStatus]) -> [String: (status: SessionStatus, latest: Double?)] {
        state.withLock { state in
            let published = Set(remote.map(\.session))
            for (id, entry) in state.entries where entry.remote && !published.contains(id) {
                state.entries[id] = nil
                state.publish(.removed(session: id))
                state.rebuildAudience(stimulus: entry.status.stimulus)
            }
            var mirrored: [String: (status: SessionStatus, latest: Double?)] = [:]
            for status in remote {
                if let local = state.entries[status.session], !local.remote {
                    let newer = status.epoch > local.status.epoch || (status.epoch == local.status.epoch
                        && local.status.state != .running && status.state == .running)
                    guard newer else { continue }
                }
                var entry = state.entries[status.session] ?? Entry(status: status)
                let changed = entry.status != status || !entry.remote
                entry.status = status
                entry.remote = true
                if status.state != .running, entry.endedAt == nil { entry.endedAt = Date() }
                if status.state == .running { entry.endedAt = nil }
                state.entries[status.session] = entry
                if changed { state.publish(.status(status)) }
                mirrored[status.session] = (status, entry.latest)
            }
            return mirrored
        }
    }

    /// Forgets a session at once (its data was deleted).
    func remove(session: String) {
        state.withLock { state in
            guard let entry = state.entries.removeValue(forKey: session) else { return }
            state.publish(.removed(session: session))
            state.rebuildAudience(stimulus: entry.status.stimulus)
        }
    }

    private func tick() {
        state.withLock { state in
            state.expireEnded()
            state.publish(.heartbeat)
        }
    }

    /// The feed's sessions, audiences and subscribers; changed only under the feed's lock.
    private struct State {
        let retentionSeconds: Double
        let binMilliseconds: Double
        var entries: [String: Entry] = [:]
        /// Kept up to date as records arrive; rebuilt when a session leaves.
        var audiences: [String?: AudienceTimeline] = [:]
        var audiencePublished: [String?: ContinuousClock.Instant] = [:]
        var subscribers: [UUID: AsyncStream<Event>.Continuation] = [:]

        func publish(_ event: Event) {
            for continuation in subscribers.values { continuation.yield(event) }
        }

        mutating func expireEnded() {
            let cutoff = Date(timeIntervalSinceNow: -retentionSeconds)
            for (id, entry) in entries {
                guard let ended = entry.endedAt, ended < cutoff else { continue }
                entries[id] = nil
                publish(.removed(session: id))
                rebuildAudience(stimulus: entry.status.stimulus)
            }
        }

        /// At most two audience updates a second per stimulus: each carries the whole timeline.
        mutating func publishAudience(stimulus: String?, force: Bool) {
            // Intervals over every bin cost real time, and a snapshot computes them fresh for a new subscriber.
            guard !subscribers.isEmpty else { return }
            let now = ContinuousClock.now
            if !force, let last = audiencePublished[stimulus], last.duration(to: now) < .milliseconds(500) { return }
            audiencePublished[stimulus] = now
            publish(.audience(stimulus: stimulus, audiences[stimulus]?.bins ?? []))
        }

        mutating func rebuildAudience(stimulus: String?) {
            var timeline = AudienceTimeline(binMilliseconds: binMilliseconds)
            for (id, entry) in entries where entry.status.stimulus == stimulus {
                for record in entry.records { timeline.add(record, contributor: id) }
            }
            audiences[stimulus] = timeline.isEmpty ? nil : timeline
            publishAudience(stimulus: stimulus, force: true)
        }

        func makeSnapshot() -> Snapshot {
            let ordered = entries.values.sorted { ($0.status.startedAt, $0.status.session) < ($1.status.startedAt, $1.status.session) }
            let stimuli = Array(Set(ordered.map(\.status.stimulus))).sorted { ($0 ?? "") < ($1 ?? "") }
            return Snapshot(
                sessions: ordered.map { .init(status: $0.status, points: $0.records.compactMap(LiveFeed.point(of:))) },
                audiences: stimuli.map { .init(stimulus: $0, points: audiences[$0]?.bins ?? []) })
        }
    }

    /// The media time a record reaches, as ``PrivacyStore/records(session:after:)`` counts it.
    static func mediaEnd(of record: MinimisedRecord) -> Double? {
        switch record {
        case .face(let row): row.timeMilliseconds
        case .group(let row): row.timeMilliseconds
        case .noFace(let row): row.timeMilliseconds
        case .window(let row): row.endMilliseconds
        case .moment: nil
        }
    }

    static func point(of record: MinimisedRecord) -> SessionPoint? {
        let time: Double, emotions: ReportedEmotions?
        switch record {
        case .face(let row): (time, emotions) = (row.timeMilliseconds, row.emotions)
        case .group(let row): (time, emotions) = (row.timeMilliseconds, row.emotions)
        case .window(let row): (time, emotions) = ((row.startMilliseconds + row.endMilliseconds) / 2, row.emotions)
        case .moment, .noFace: return nil
        }
        guard let emotions else { return nil }
        return SessionPoint(timeMilliseconds: time, means: emotions.probabilities, valence: Circumplex(emotions).valence)
    }
}
