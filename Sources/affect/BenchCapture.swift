import AffectCore
import AffectPipeline
import AffectServer
import AffectStore
import AffectVision
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import ServiceLifecycle

/// `affect bench --streams N --websocket`: participants' capture as the study server runs it.
///
/// A real server on 127.0.0.1 (a throwaway SQLite store in a temporary directory, the shared
/// engine, the capture routes) and N WebSocket clients in the same process, each acting as a
/// consented participant page: it sends the clip's frames as JPEG at the rate the server asks
/// for, stamped with its own clock as the stimulus time, and reads the readout, which carries
/// what was stored for each frame. End-to-end latency is the time from sending a frame to
/// reading back its stored result: socket, decoding, analysis, the store's transaction and the
/// socket back. Only derived data is stored, and the directory is removed at the end.
struct CaptureBenchmark {
    var input: String
    var clients: Int
    var workers: Int
    var detector: DetectorKind
    var duration: Double
    var policy: SamplingPolicy
    var catalog: ModelCatalog
    /// The store's database; nil for a throwaway SQLite file.
    var store: DatabaseLocation?
    /// A running server or balancer (a cluster's) the pages go to, on `store`; nil starts one here.
    var target: String?

    struct Report: Codable {
        var clients: Int
        var workers: Int
        var detector: String
        var seconds: Double
        var framesSent: Int
        /// Frames whose stored result came back to the client that sent them.
        var framesAnswered: Int
        var analysedFPS: Double
        /// Sending a frame to reading its stored result, at the client.
        var endToEnd: LatencySummary?
        /// A frame's arrival at the engine to its result (the engine's own histogram).
        var engine: LatencySummary?
        var dropped: [String: Int]
        var ladderSteps: Int
        /// The rate the server asked the clients for last, averaged over clients.
        var askedFPS: Double
        /// How each socket was closed, by close code.
        var closes: [String: Int]
        var captureCoreShare: Double
        var analysisCoreShare: Double
        /// PostgreSQL's own counts over the run (`pg_stat_database`), per frame answered.
        var database: DatabaseLoad?

        struct DatabaseLoad: Codable {
            var commits: Int
            var rowsInserted: Int
            var commitsPerFrame: Double
            var rowsPerFrame: Double

            enum CodingKeys: String, CodingKey {
                case commits, rowsInserted = "rows_inserted", commitsPerFrame = "commits_per_frame", rowsPerFrame = "rows_per_frame"
            }
        }

        enum CodingKeys: String, CodingKey {
            case clients, workers, detector, seconds, dropped, closes, database
            case framesSent = "frames_sent", framesAnswered = "frames_answered", analysedFPS = "analysed_fps"
            case endToEnd = "end_to_end", engine, ladderSteps = "ladder_steps", askedFPS = "asked_fps"
            case captureCoreShare = "capture_core_share", analysisCoreShare = "analysis_core_share"
        }
    }

    func run() async throws -> Report {
        let frames = try StreamBenchmark.encodedFrames(of: input)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("affect-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(self.store ?? .sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let actor = "bench"
        let study = try await store.createStudy(
            StudyDefinition(name: "Capture benchmark \(UUID().uuidString.prefix(8))", purpose: "Measure the capture path's throughput",
                            context: .mediaResearch, mode: .individual, participantReadout: true),
            actor: actor)
        // The pages never play it: the clip is sent as camera frames, so any address will do.
        let stimulus = try await store.addStimulus(study: study.id, name: "Clip", variant: "A",
                                                   source: .url("https://stimulus.invalid/bench"), actor: actor)
        var secrets: [String] = []
        for _ in 0..<clients {
            let (_, secret) = try await store.createInvitation(study: study.id, stimulus: stimulus.id, hours: 1, actor: actor)
            _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [],
                                        segment: nil)
            secrets.append(secret)
        }

        let quiet = {
            var logger = Logger(label: "affect.bench")
            logger.logLevel = .error
            return logger
        }()
        var local: (services: ServiceGroup, server: Task<Void, any Error>, engine: LiveEngine)?
        let base: String
        if let target {
            base = target.replacingOccurrences(of: "http://", with: "ws://")
        } else {
            let metrics = LiveMetrics()
            let (capture, engine) = try CaptureEngine.start(catalog: catalog, workers: workers, detector: detector,
                                                            settings: CaptureService.Settings(policy: policy), store: store,
                                                            metrics: metrics, logger: quiet, log: { Console.info("affect: \($0)") })
            let (ports, portContinuation) = AsyncStream<Int>.makeStream()
            let app = buildApplication(configuration: .init(host: "127.0.0.1", port: 0), store: store, capture: capture,
                                       metrics: metrics, logger: quiet) { port in portContinuation.yield(port) }
            let services = ServiceGroup(configuration: .init(services: [app], logger: quiet))
            let server = Task { try await services.run() }
            var portIterator = ports.makeAsyncIterator()
            guard let port = await portIterator.next() else { throw CancellationError() }
            local = (services, server, engine)
            base = "ws://127.0.0.1:\(port)"
        }
        let databaseBefore = try await Self.databaseCounts(store)

        let start = ContinuousClock.now
        // The pages run on their own thread, not on the cooperative threads the server's tasks use:
        // browsers are independent of the server (measured: the engine's latency was the same either way).
        let pages = PageExecutor()
        let logs = try await withThrowingTaskGroup(of: ClientLog.self) { group in
            for (index, secret) in secrets.enumerated() {
                group.addTask(executorPreference: pages) {
                    // Participants arrive spread over the first second, not in lockstep.
                    try await Task.sleep(for: .milliseconds(Double(index % 100) * 10))
                    return try await Self.participant(url: "\(base)/p/\(secret)/ws", frames: frames,
                                                      first: index % frames.count, seconds: duration, logger: quiet)
                }
            }
            var logs: [ClientLog] = []
            for try await log in group {
                logs.append(log)
                Console.progress("bench", done: logs.count, total: clients)
            }
            return logs
        }
        Console.clearProgress()
        let seconds = start.duration(to: .now).milliseconds / 1000
        var report: LiveEngine.Report?
        if let local {
            await local.services.triggerGracefulShutdown()
            _ = try? await local.server.value
            report = local.engine.shutdown()
        }
        // PostgreSQL publishes a backend's counts within a second or so of its last transaction.
        if databaseBefore != nil { try await Task.sleep(for: .seconds(2)) }
        let databaseAfter = try await Self.databaseCounts(store)

        var endToEnd = LatencyRecorder()
        var closes: [String: Int] = [:]
        var sent = 0, answered = 0, asked = 0.0
        for log in logs {
            for latency in log.latencies { endToEnd.record(milliseconds: latency) }
            closes[log.closeCode, default: 0] += 1
            sent += log.sent
            answered += log.latencies.count
            asked += log.askedFPS
        }
        var database: Report.DatabaseLoad?
        if let before = databaseBefore, let after = databaseAfter {
            let (commits, rows) = (after.commits - before.commits, after.rowsInserted - before.rowsInserted)
            database = .init(commits: commits, rowsInserted: rows, commitsPerFrame: Double(commits) / Double(max(1, answered)),
                             rowsPerFrame: Double(rows) / Double(max(1, answered)))
        }
        // Against a running server the engine is not ours to read: frames answered per second stand in.
        return Report(clients: clients, workers: workers, detector: detector.rawValue, seconds: seconds, framesSent: sent,
                      framesAnswered: answered, analysedFPS: report?.analysedFramesPerSecond ?? Double(answered) / max(seconds, 0.001),
                      endToEnd: endToEnd.summary, engine: report?.latency, dropped: report?.dropped ?? [:],
                      ladderSteps: report?.ladderSteps.count ?? 0, askedFPS: asked / Double(max(1, logs.count)), closes: closes,
                      captureCoreShare: report?.captureCoreShare ?? 0, analysisCoreShare: report?.analysisCoreShare ?? 0,
                      database: database)
    }

    /// PostgreSQL's committed transactions and inserted rows on this database so far; nil on SQLite.
    static func databaseCounts(_ store: PrivacyStore) async throws -> (commits: Int, rowsInserted: Int)? {
        guard store.database.dialect == .postgres else { return nil }
        return try await store.database.transaction { transaction in
            guard let row = try await transaction.query(
                "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = current_database()").first else { return nil }
            return (Int(row["xact_commit"].int64 ?? 0), Int(row["tup_inserted"].int64 ?? 0))
        }
    }

    /// Runs the simulated pages' tasks on one dedicated serial queue.
    final class PageExecutor: TaskExecutor {
        private let queue = DispatchQueue(label: "affect.bench.pages")

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { job.runSynchronously(on: executor) }
        }
    }

    /// What one participant page saw.
    final class ClientLog: @unchecked Sendable {
        // Written by the page's sender and reader tasks, read at the end.
        private let lock = NSLock()
        private var sentAt: [Double: ContinuousClock.Instant] = [:]
        private var storedLatencies: [Double] = []
        private var sentCount = 0
        private var fps = 0.0
        var closeCode = "none"

        var latencies: [Double] { lock.withLock { storedLatencies } }
        var sent: Int { lock.withLock { sentCount } }
        /// The rate the server asked for last.
        var askedFPS: Double { lock.withLock { fps } }

        func noteSent(media: Double, at instant: ContinuousClock.Instant) {
            lock.withLock {
                sentAt[media] = instant
                sentCount += 1
            }
        }

        func noteStored(media: Double, at instant: ContinuousClock.Instant) {
            lock.withLock {
                if let sent = sentAt.removeValue(forKey: media) { storedLatencies.append(sent.duration(to: instant).milliseconds) }
            }
        }

        func noteRate(_ rate: Double) { lock.withLock { fps = rate } }
    }

    private struct ServerMessage: Decodable {
        struct Point: Decodable {
            var timeMilliseconds: Double
            enum CodingKeys: String, CodingKey { case timeMilliseconds = "t_ms" }
        }

        var type: String
        var fps: Double?
        var points: [Point]?
    }

    /// One participant page: sends frames at the asked rate for `seconds`, then `{"type": "end"}`, and
    /// reads the server's messages until it closes the socket.
    static func participant(url: String, frames: [Data], first: Int, seconds: Double, logger: Logger) async throws -> ClientLog {
        let log = ClientLog()
        let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger) {
            inbound, outbound, _ in
            let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
            let sender = Task {
                var waitReady = ready.makeAsyncIterator()
                _ = await waitReady.next()
                let start = ContinuousClock.now
                var index = first
                while start.duration(to: .now) < .seconds(seconds) {
                    let now = ContinuousClock.now
                    // The stimulus clock is the page's own: milliseconds since it started playing.
                    let media = start.duration(to: now).milliseconds.rounded()
                    let message = FrameMessage(mediaMilliseconds: media, captureMilliseconds: media, jpeg: frames[index % frames.count])
                    log.noteSent(media: media, at: now)
                    try await outbound.writeBinaryMessage(ByteBuffer(bytes: message.encoded()))
                    index += 1
                    let fps = max(0.5, log.askedFPS)
                    try await Task.sleep(until: now.advanced(by: .milliseconds(1000 / fps)), clock: .continuous)
                }
                try await outbound.writeTextMessage(#"{"type": "end"}"#)
            }
            let decoder = JSONDecoder()
            // Read until the server closes the socket, which it does once the session is closed in the store.
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message,
                      let parsed = try? decoder.decode(ServerMessage.self, from: Data(text.utf8)) else { continue }
                let now = ContinuousClock.now
                switch parsed.type {
                case "ready", "rate":
                    if let fps = parsed.fps { log.noteRate(fps) }
                    readyContinuation.yield()
                case "readout":
                    for point in parsed.points ?? [] { log.noteStored(media: point.timeMilliseconds, at: now) }
                default: break
                }
            }
            readyContinuation.finish()
            sender.cancel()
            _ = try? await sender.value
        }
        log.closeCode = close.map { "\($0.closeCode)" } ?? "none"
        return log
    }
}
