import AffectCore
import AffectPipeline
import AffectServer
import AffectStore
import AffectVision
import AffectWebRTC
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `affect bench --streams N --websocket`: participants' capture as the study server runs it.
///
/// A real server on 127.0.0.1 (a throwaway SQLite store in a temporary directory, the shared
/// engine, the capture routes) and N WebSocket clients in the same process, each acting as a
/// consented participant page: it sends the clip's frames as JPEG at the rate the server asks
/// for, stamped with its own clock as the stimulus time, and reads the readout, which carries
/// what was stored for each frame. End-to-end latency is the time from sending a frame to
/// reading back its stored result: socket, decoding, analysis, the store's transaction and the
/// socket back. Only derived data is stored, and the directory is removed at the end.
///
/// With `device`, the study analyses in participants' browsers: each page sends, instead of frames,
/// results messages (the wire format of ``DeviceMessage``) at the rate the server asks, replaying
/// the clip's real results (analysed once here before the run, raw probabilities as a page has
/// them). What the server then spends per participant is what device analysis costs a node.
///
/// Server CPU is the process's CPU time over the run less the pages' own (their tasks run on one
/// executor whose jobs are timed on the thread's CPU clock); the WebSocket clients' I/O shares the
/// server's event loops and is counted as the server's, so the figure errs high.
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
    /// The pages analyse on the device and send results; the rate is `deviceFPS`.
    var device = false
    var deviceFPS = 30.0
    /// The pages send their camera as a WebRTC track (VP8 encoded once beforehand, sent by GStreamer's
    /// webrtcbin in this process) at `captureFPS`; with `everyFrame` the study analyses every frame.
    var webRTC = false
    var captureFPS = 15.0
    var everyFrame = false

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
        /// `server` or `device`.
        var analysis: String
        /// `jpeg` or `webrtc`, for server analysis.
        var transport: String?
        /// The server's CPU over the run (the process's less the simulated pages'), and per participant.
        var serverCPUSeconds: Double
        var serverCPUMillisecondsPerParticipantSecond: Double
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
            case analysis, transport, serverCPUSeconds = "server_cpu_seconds"
            case serverCPUMillisecondsPerParticipantSecond = "server_cpu_ms_per_participant_second"
        }
    }

    func run() async throws -> Report {
        let frames = try StreamBenchmark.encodedFrames(of: input)
        let deviceFrames = device ? try Self.deviceResults(of: input, catalog: catalog) : []
        let trackFrames = webRTC ? try Self.vp8Frames(of: input, framesPerSecond: captureFPS) : []
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("affect-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await PrivacyStore.open(self.store ?? .sqlite(path: directory.appendingPathComponent("affect.sqlite").path))
        let actor = "bench"
        let study = try await store.createStudy(
            StudyDefinition(name: "Capture benchmark \(UUID().uuidString.prefix(8))", purpose: "Measure the capture path's throughput",
                            context: .mediaResearch, mode: .individual, participantReadout: true,
                            analysis: device ? .device : .server, transport: webRTC ? .webrtc : .jpeg,
                            captureFramesPerSecond: webRTC ? captureFPS : nil, everyFrame: webRTC && everyFrame),
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
                                                            settings: CaptureService.Settings(
                                                                policy: policy, deviceFramesPerSecond: deviceFPS,
                                                                webRTC: WebRTCSettings(addresses: ["127.0.0.1"],
                                                                                       maximumSessions: max(24, clients),
                                                                                       framesPerSecond: captureFPS)),
                                                            store: store,
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
        let processCPUAtStart = ThreadCPUClock.processSeconds()
        // The pages run on their own thread, not on the cooperative threads the server's tasks use:
        // browsers are independent of the server (measured: the engine's latency was the same either way).
        let pages = PageExecutor()
        let logs = try await withThrowingTaskGroup(of: ClientLog.self) { group in
            for (index, secret) in secrets.enumerated() {
                group.addTask(executorPreference: pages) {
                    // Participants arrive spread over the first second, not in lockstep.
                    try await Task.sleep(for: .milliseconds(Double(index % 100) * 10))
                    if webRTC {
                        // Every page starts on a keyframe, spread over the clip.
                        let keyframes = trackFrames.indices.filter { trackFrames[$0].keyframe }
                        return try await Self.webRTCPage(url: "\(base)/p/\(secret)/ws?transport=webrtc", frames: trackFrames,
                                                         first: keyframes[index % keyframes.count], framesPerSecond: captureFPS,
                                                         seconds: duration, logger: quiet)
                    }
                    if device {
                        return try await Self.devicePage(url: "\(base)/p/\(secret)/ws", results: deviceFrames,
                                                         first: index % deviceFrames.count, seconds: duration, logger: quiet)
                    }
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
        let serverCPU = max(0, ThreadCPUClock.processSeconds() - processCPUAtStart - pages.cpuSeconds)
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
                      analysis: device ? "device" : "server", transport: device ? nil : webRTC ? "webrtc" : "jpeg",
                      serverCPUSeconds: serverCPU,
                      serverCPUMillisecondsPerParticipantSecond: serverCPU * 1000 / Double(max(1, clients)) / max(seconds, 0.001),
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

    /// Runs the simulated pages' tasks on one dedicated serial queue, and adds up the CPU time they take.
    final class PageExecutor: TaskExecutor {
        private let queue = DispatchQueue(label: "affect.bench.pages")
        // Written only by the queue's jobs (serial), read after every page has finished.
        private let spent = Mutex(0.0)

        var cpuSeconds: Double { spent.withLock { $0 } }

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { [self] in
                let before = ThreadCPUClock.seconds()
                job.runSynchronously(on: executor)
                let used = ThreadCPUClock.seconds() - before
                spent.withLock { $0 += used }
            }
        }
    }

    /// The clip's results as a page doing device analysis reports them: the first 75 frames analysed
    /// with the server's own models (BlazeFace, raw probabilities), boxes as fractions of the frame.
    static func deviceResults(of input: String, catalog: ModelCatalog) throws -> [DeviceMessage.Frame] {
        let source = try VideoInput(parsing: input).open()
        let analyzer = FrameAnalyzer(detector: try DetectorKind.blazeface.make(catalog: catalog),
                                     classifier: try EmotionClassifier(catalog: catalog, options: .init(calibrated: false)))
        var frames: [DeviceMessage.Frame] = []
        while frames.count < 75, try source.advance() != nil {
            let image = try source.currentImage()
            let (width, height) = (Double(image.width), Double(image.height))
            let faces = try analyzer.analyze(image, measures: false).map { face in
                DeviceMessage.Face(box: Box(x: face.box.x / width, y: face.box.y / height, width: face.box.width / width,
                                            height: face.box.height / height),
                                   score: face.score, probabilities: face.emotions.probabilities)
            }
            frames.append(DeviceMessage.Frame(tMs: 0, width: image.width, height: image.height, costMs: 20, faces: faces))
        }
        guard !frames.isEmpty else { throw VisionError.inputUnreadable(path: input, reason: "no frames") }
        return frames
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

    struct ServerMessage: Decodable, Sendable {
        struct Point: Decodable, Sendable {
            var timeMilliseconds: Double
            enum CodingKeys: String, CodingKey { case timeMilliseconds = "t_ms" }
        }

        struct Kernel: Decodable, Sendable {
            struct Entry: Decodable, Sendable { var sha256: String }
            var simd: Entry
            var detector: Entry
            var classifier: Entry
        }

        var type: String
        var fps: Double?
        var points: [Point]?
        var kernel: Kernel?
        /// WebRTC's answer and the server's ICE candidates.
        var sdp: String?
        var candidate: String?
        var mline: Int?
    }

    /// One simulated page: once the server says it is ready, `send` sends what the page sends until it
    /// is done (ending with `{"type": "end"}`); meanwhile the server's messages are read until it closes
    /// the socket, which it does once the session is closed in the store: the rate it asks for and the
    /// stored results (the readout) go into the log.
    static func page(url: String, logger: Logger, onMessage: @escaping @Sendable (ServerMessage) -> Void = { _ in },
                     send: @escaping @Sendable (WebSocketOutboundWriter, ClientLog, ServerMessage) async throws -> Void)
        async throws -> ClientLog {
        let log = ClientLog()
        let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger) {
            inbound, outbound, _ in
            let (ready, readyContinuation) = AsyncStream<ServerMessage>.makeStream()
            let sender = Task {
                var waitReady = ready.makeAsyncIterator()
                guard let message = await waitReady.next() else { return }
                try await send(outbound, log, message)
            }
            let decoder = JSONDecoder()
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message,
                      let parsed = try? decoder.decode(ServerMessage.self, from: Data(text.utf8)) else { continue }
                let now = ContinuousClock.now
                switch parsed.type {
                case "ready", "rate":
                    if let fps = parsed.fps { log.noteRate(fps) }
                    if parsed.type == "ready" { readyContinuation.yield(parsed) }
                case "readout":
                    for point in parsed.points ?? [] { log.noteStored(media: point.timeMilliseconds, at: now) }
                default: onMessage(parsed)
                }
            }
            readyContinuation.finish()
            sender.cancel()
            _ = try? await sender.value
        }
        log.closeCode = close.map { "\($0.closeCode)" } ?? "none"
        return log
    }

    /// A page doing server analysis: sends the clip's frames at the asked rate for `seconds`, stamped
    /// with its own clock as the stimulus time.
    static func participant(url: String, frames: [Data], first: Int, seconds: Double, logger: Logger) async throws -> ClientLog {
        try await page(url: url, logger: logger) { outbound, log, _ in
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
    }

    /// A page sending its camera over WebRTC: once the server is ready, a sender offers a track and sends
    /// the clip's VP8 frames at `framesPerSecond` for `seconds`, the stimulus time being each frame's PTS;
    /// each frame's clock pair goes over the socket as it leaves, as a browser's page sends it.
    static func webRTCPage(url: String, frames: [WebRTCSender.Frame], first: Int, framesPerSecond: Double, seconds: Double,
                           logger: Logger) async throws -> ClientLog {
        let peer = SenderSlot()
        return try await page(url: url, logger: logger, onMessage: { message in
            switch message.type {
            case "webrtc-answer": if let sdp = message.sdp { try? peer.sender?.answer(sdp) }
            case "ice":
                if let candidate = message.candidate, !candidate.isEmpty { peer.sender?.addCandidate(mline: message.mline ?? 0, candidate) }
            default: break
            }
        }) { outbound, log, _ in
            let (messages, toServer) = AsyncStream<String>.makeStream()
            let (connected, connection) = AsyncStream<Bool>.makeStream()
            let sender = try WebRTCSender(addresses: ["127.0.0.1"], width: 640, height: 480, onEvent: { event in
                switch event {
                case .offer(let offer): toServer.yield((try? WebRTCMessage.encode(WebRTCMessage.Offer(sdp: offer))) ?? "")
                case .candidate(let mline, let candidate):
                    toServer.yield((try? WebRTCMessage.encode(WebRTCMessage.Candidate(mline: mline, candidate: candidate))) ?? "")
                case .connected: connection.yield(true)
                case .failed: connection.yield(false)
                case .answer, .senderReport: break  // a sender takes answers and sends reports; it makes neither
                }
            }, onSent: { pts, rtp in
                let media = Double(pts) / 1_000_000
                log.noteSent(media: media, at: .now)
                toServer.yield((try? WebRTCMessage.encode(WebRTCMessage.Clock(pairs: [.init(rtpTimestamp: rtp, mediaMilliseconds: media)]))) ?? "")
            })
            peer.sender = sender
            defer { sender.close() }
            let writer = Task {
                for await text in messages where !text.isEmpty { try await outbound.writeTextMessage(text) }
            }
            // Frames go once the connection is up (a browser's first frames, sent while it connects, are
            // lost; the benchmark measures the steady state), for `seconds` from then.
            let up = await Self.first(of: connected, within: 15) ?? false
            connection.finish()
            let start = ContinuousClock.now
            var sent = 0
            while up && start.duration(to: .now) < .seconds(seconds) {
                try await Task.sleep(until: start.advanced(by: .milliseconds(Double(sent) * 1000 / framesPerSecond)), clock: .continuous)
                sender.push(frames[(first + sent) % frames.count], ptsNanoseconds: UInt64((Double(sent + 1) * 1e9 / framesPerSecond).rounded()))
                sent += 1
            }
            toServer.finish()
            try await writer.value
            try await outbound.writeTextMessage(#"{"type": "end"}"#)
        }
    }

    /// The first value `stream` yields, or nil after `seconds`.
    static func first<Element: Sendable>(of stream: AsyncStream<Element>, within seconds: Double) async -> Element? {
        await withTaskGroup(of: Element?.self) { group in
            group.addTask { await stream.first { _ in true } }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Where a WebRTC page's server messages find its sender, which is made once the server is ready.
    final class SenderSlot: Sendable {
        private let slot = Mutex<WebRTCSender?>(nil)
        var sender: WebRTCSender? {
            get { slot.withLock { $0 } }
            set { slot.withLock { $0 = newValue } }
        }
    }

    /// The clip as VP8 at 640x480 and `framesPerSecond`, a keyframe every second, encoded once in memory by
    /// ffmpeg (written to a pipe as IVF): what a browser's encoder would send.
    static func vp8Frames(of input: String, framesPerSecond: Double) throws -> [WebRTCSender.Frame] {
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        let rate = String(format: "%g", framesPerSecond)
        ffmpeg.arguments = ["-nostdin", "-loglevel", "error", "-i", input, "-t", "8", "-an",
                            "-vf", "fps=\(rate),scale=640:480", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                            "-b:v", "800k", "-g", rate, "-f", "ivf", "-"]
        let output = Pipe()
        ffmpeg.standardOutput = output
        try ffmpeg.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        ffmpeg.waitUntilExit()
        guard ffmpeg.terminationStatus == 0 else { throw VisionError.inputUnreadable(path: input, reason: "ffmpeg could not encode it to VP8") }
        return try WebRTCSender.frames(ivf: data)
    }

    /// A page doing device analysis: reports the hashes the server lists (a browser hashes what it
    /// fetched; these are the same files), then sends results at the asked rate in batches twice a
    /// second, stamped with its own clock as the stimulus time, for `seconds`.
    static func devicePage(url: String, results: [DeviceMessage.Frame], first: Int, seconds: Double,
                           logger: Logger) async throws -> ClientLog {
        try await page(url: url, logger: logger) { outbound, log, ready in
            guard let kernel = ready.kernel else { return }
            try await outbound.writeTextMessage(DeviceMessage.encode(DeviceMessage.Hello(
                build: "simd", kernelSha256: kernel.simd.sha256, detectorSha256: kernel.detector.sha256,
                classifierSha256: kernel.classifier.sha256)))
            let start = ContinuousClock.now
            var index = first
            var batch: [DeviceMessage.Frame] = []
            var lastSent = start
            func flush(at now: ContinuousClock.Instant) async throws {
                guard !batch.isEmpty else { return }
                for sent in batch { log.noteSent(media: sent.tMs, at: now) }
                try await outbound.writeTextMessage(DeviceMessage.encode(DeviceMessage.Results(frames: batch)))
                batch = []
                lastSent = now
            }
            while start.duration(to: .now) < .seconds(seconds) {
                let now = ContinuousClock.now
                var frame = results[index % results.count]
                frame.tMs = start.duration(to: now).milliseconds.rounded()
                batch.append(frame)
                index += 1
                if lastSent.duration(to: now) >= .milliseconds(500) { try await flush(at: now) }
                let fps = max(0.5, log.askedFPS)
                try await Task.sleep(until: now.advanced(by: .milliseconds(1000 / fps)), clock: .continuous)
            }
            try await flush(at: .now)
            try await outbound.writeTextMessage(#"{"type": "end"}"#)
        }
    }
}
