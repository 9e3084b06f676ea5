import AffectCore
import AffectPipeline
import AffectServer
import AffectStore
import AffectVision
import ArgumentParser
import Foundation
import Synchronization

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Analyse queued videos (`affect jobs submit`) into their studies, one job at a time.",
        discussion: """
        Run as many workers as there are cores to spare, on any machine that reads the videos and reaches \
        the database (several need PostgreSQL). Each claims the oldest job nobody holds, under a lease it \
        renews every third of --lease. Stop a worker any way you like (Ctrl-C, SIGTERM, even kill -9): the \
        job at hand goes to another worker once its lease runs out, and that worker resumes the job's \
        session where its stored results end. Prints one JSON line per job it ends; with \
        --exit-when-idle it exits 0 once no job is queued or running. Exit 69 when the database cannot be reached.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Directory holding manifest.json and the models (default: found automatically).") var models: String?
    @Option(help: "Face detector: centerface (many and small faces) or blazeface (webcam distance, faster).")
    var detector: DetectorKind = .centerface
    @OptionGroup(title: "Classification") var classification: ClassifierOptions
    @Option(help: "Analysed frames per second of video.") var fps = 5.0
    @Option(help: ArgumentHelp("Seconds a job stays this worker's without a renewal.", valueName: "seconds")) var lease = 30.0
    @Option(help: "Seconds a stream may take to open or go without sending a frame.") var timeout = 10.0
    @Flag(help: "Exit once no job is queued or running, instead of waiting for more.") var exitWhenIdle = false
    @Option(help: "This worker's name, as the jobs list shows its owner (default: worker:<random>); no two workers may share one.")
    var name: String?

    struct Finished: Encodable {
        var job: String
        var status: String
        var session: String?
        var framesAnalysed: Int?
        var resumedFromMs: Double?
        var error: String?
    }

    func validate() throws {
        if !(fps > 0 && fps <= 120) { throw ValidationError("--fps must be more than 0 and at most 120") }
        if !(lease >= 1 && lease <= 3600) { throw ValidationError("--lease must be 1 to 3600 seconds") }
        if !(timeout > 0 && timeout <= 3600) { throw ValidationError("--timeout must be more than 0 and at most 3600 seconds") }
        if let name, name.isEmpty || name.count > 100 || name.contains(where: { $0.isNewline }) {
            throw ValidationError("--name must be 1 to 100 characters on one line")
        }
    }

    func run() throws {
        try CommandFailure.reporting {
            let database = self.database
            let store = try Blocking.run { try await database.open() }
            let catalog = try ModelCatalog(directory: models)
            // The landmark stage is built once and run for the jobs of studies that measure faces.
            let analyzer = try FrameAnalyzer(catalog: catalog, detector: detector, options: classification.options, measures: true)
            let policy = SamplingPolicy.fixed(framesPerSecond: fps)
            let provenance = { (measures: Bool) in
                Provenance.of(catalog: catalog, detector: detector, policy: policy, classifier: self.classification.options,
                              tracking: false, halfLifeMilliseconds: 500, measures: measures)
            }
            let worker = name ?? "worker:" + UUID().uuidString.lowercased()
            let leaseMilliseconds = Int64((lease * 1000).rounded())
            Console.info("affect: worker \(worker) waiting for jobs")
            while true {
                guard let job = try Blocking.run({ try await store.claimJob(worker: worker, leaseMilliseconds: leaseMilliseconds) }) else {
                    // A running job may still come back to the queue (its worker died): idle means none left.
                    if exitWhenIdle, try Blocking.run({ try await store.unfinishedJobs() }) == 0 { break }
                    Thread.sleep(forTimeInterval: 1)
                    continue
                }
                let finished = self.process(job, store: store, worker: worker, analyzer: analyzer, policy: policy,
                                            provenance: provenance, leaseMilliseconds: leaseMilliseconds)
                try JSONOutput.printLine(finished)
            }
        }
    }

    /// Runs one claimed job to its end; a failure the job itself caused marks it failed, one of the
    /// worker's (the database away) leaves it to be taken over.
    private func process(_ job: Job, store: PrivacyStore, worker: String, analyzer: FrameAnalyzer, policy: SamplingPolicy,
                         provenance: (Bool) -> Provenance, leaseMilliseconds: Int64) -> Finished {
        // Renewed on a thread of its own while the analysis holds this one.
        let renewal = LeaseRenewal(every: Double(leaseMilliseconds) / 3000) {
            // An unreachable database is not a lost job: the next renewal tries again.
            (try? Blocking.run { try await store.renewJob(job.id, worker: worker, leaseMilliseconds: leaseMilliseconds) }) ?? true
        }
        defer { renewal.stop() }
        do {
            // What the study's notice promises decides whether faces are measured.
            let measures = try Blocking.run { try await store.study(job.studyID).definition.measures }
            let chosen = provenance(measures)
            let started = try Blocking.run { try await store.startJobSession(job, worker: worker, provenance: chosen) }
            let writer = try Blocking.run { try await SessionWriter(store: store, session: started.session) }
            let source = try VideoInput(parsing: job.source).open(timeoutSeconds: timeout)
            let resumeFrom = started.resumeFromMilliseconds
            let options = AnalysisOptions(policy: policy, measures: measures)
            let summary = try AnalysisRun(options: options, analyzer: analyzer).run(source: source, sink: { result in
                if renewal.isLost { throw StoreError.jobLost(job.id) }
                // Frames before the stored results' end were stored by the worker this job was taken from.
                if let resumeFrom, result.timeMilliseconds < resumeFrom { return }
                _ = try Blocking.run { try await writer.record(result) }
            })
            _ = try Blocking.run { try await writer.finish(actor: "worker:\(job.id)", completingJob: (job.id, worker)) }
            return Finished(job: job.id, status: "done", session: started.session.id, framesAnalysed: summary.framesAnalysed,
                            resumedFromMs: resumeFrom)
        } catch StoreError.jobLost {
            Console.info("affect: job \(job.id) was taken over by another worker; left to it")
            return Finished(job: job.id, status: "taken over")
        } catch let error as StoreError {
            if case .backend = error {
                Console.error("job \(job.id): \(error); left for another attempt once its lease runs out")
                return Finished(job: job.id, status: "left", error: error.description)
            }
            return fail(job, store: store, worker: worker, reason: error.description)
        } catch let error as VisionError {
            return fail(job, store: store, worker: worker, reason: error.description)
        } catch {
            return fail(job, store: store, worker: worker, reason: "\(error)")
        }
    }

    private func fail(_ job: Job, store: PrivacyStore, worker: String, reason: String) -> Finished {
        Console.error("job \(job.id) failed: \(reason)")
        try? Blocking.run { try await store.failJob(job.id, worker: worker, reason: reason) }
        return Finished(job: job.id, status: "failed", error: reason)
    }
}

/// Renews a lease every `interval` seconds on a thread of its own until stopped; remembers when a
/// renewal found the lease gone.
final class LeaseRenewal: Sendable {
    private let stopped = Atomic(false)
    private let lost = Atomic(false)

    /// - Parameter renew: renews once; false when the lease is held no longer.
    init(every interval: Double, renew: @escaping @Sendable () -> Bool) {
        Thread.detachNewThread { [self] in
            var next = Date().addingTimeInterval(interval)
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.05)
                guard Date() >= next else { continue }
                next = Date().addingTimeInterval(interval)
                if !renew() {
                    lost.store(true, ordering: .releasing)
                    return
                }
            }
        }
    }

    /// Whether a renewal found the lease taken over.
    var isLost: Bool { lost.load(ordering: .acquiring) }

    func stop() { stopped.store(true, ordering: .releasing) }
}
