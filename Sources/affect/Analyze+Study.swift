import AffectCore
import AffectPipeline
import AffectStore
import AffectVision
import ArgumentParser
import Foundation

extension Analyze {
    /// What `analyze --study` prints when the session ends.
    struct SessionSummary: Encodable {
        var session: String
        var study: String
        var participant: String
        var mode: String
        var framesRead: Int
        var framesAnalysed: Int
        var recordsWritten: Int
        var provenance: String
    }

    /// The settings that shape scores, recorded with every session so each score can be traced to them.
    func provenance(catalog: ModelCatalog, policy: SamplingPolicy) -> Provenance {
        var models: [String: String] = [:]
        for model in catalog.manifest.models { models[model.name] = model.sha256 }
        let configuration: [String: String] = [
            "affect_version": Affect.version,
            "detector": detector.rawValue,
            "sampling": String(describing: policy),
            "crop_scale": String(classification.options.cropScale),
            "flip_tta": String(classification.options.flipAveraging),
            "align_eyes": String(classification.options.alignEyes),
            "tracking": String(track),
            "half_life_ms": String(halfLife),
        ]
        return Provenance(models: models, configuration: configuration)
    }

    /// Runs the analysis with a session writer as the sink. The writer minimises and stores each
    /// result before the next frame is analysed, and stops the run when consent is withdrawn.
    func analyzeIntoStudy(study: String, participant: String, source: any FrameSource, parsedInput: VideoInput,
                          catalog: ModelCatalog, analyzer: FrameAnalyzer) throws {
        let actor = DatabaseOptions.actor
        let database = self.database
        let policy = samplingPolicy(live: source.isLive)
        let provenance = provenance(catalog: catalog, policy: policy)
        // Consent is checked when the session starts: without it nothing is stored and nothing analysed.
        let stimulus = self.stimulus
        let writer = try Blocking.run {
            let store = try await database.open()
            return try await SessionWriter(store: store, study: study, participant: participant, stimulus: stimulus,
                                           provenance: provenance, actor: actor)
        }
        Console.info("affect: session \(writer.session.id) (\(writer.policy.mode.rawValue) mode)")
        do {
            try analyze(into: writer, source: source, parsedInput: parsedInput, catalog: catalog, analyzer: analyzer,
                        policy: policy, participant: participant)
        } catch StoreError.noConsent {
            Console.error("consent of \(participant) was withdrawn during the session: analysis stopped, their results deleted")
            throw ExitCode(77)
        } catch {
            // A stream that stalls or breaks still leaves valid results: close the session with them,
            // so it does not stay "running" (and out of reach of retention) for ever.
            let actor = DatabaseOptions.actor
            _ = try? Blocking.run { try await writer.finish(actor: actor) }
            throw error
        }
    }

    private func analyze(into writer: SessionWriter, source: any FrameSource, parsedInput: VideoInput,
                         catalog: ModelCatalog, analyzer: FrameAnalyzer, policy: SamplingPolicy,
                         participant: String) throws {
        let actor = DatabaseOptions.actor
        let options = AnalysisOptions(policy: policy, tracking: track, smoothingHalfLifeMilliseconds: halfLife,
                                      realtime: realtime)
        let failure = FailureSlot()
        let store: @Sendable (FrameResult) throws -> Void = { result in
            try Blocking.run { try await writer.record(result) }
        }
        let storeMoment: @Sendable (Moment) throws -> Void = { moment in
            try Blocking.run { try await writer.record(moment: moment) }
        }
        let label = (input as NSString).lastPathComponent
        var framesRead = 0, framesAnalysed = 0
        if realtime || parsedInput.isCaptured {
            let engine = LiveEngine(configuration: .init(workers: ProcessInfo.processInfo.activeProcessorCount,
                                                         detector: detector, classifier: classification.options),
                                    catalog: catalog, log: { Console.info("affect: \($0)") })
            var stream = LiveEngine.Stream(name: input, source: source, policy: options.policy, tracking: options.tracking,
                                           realtime: options.realtime, sink: { result in
                                               guard !failure.isSet else { return }
                                               do { try store(result) } catch {
                                                   failure.set(error)
                                                   engine.stop()
                                               }
                                           }, momentSink: { moment in
                                               guard !failure.isSet else { return }
                                               do { try storeMoment(moment) } catch {
                                                   failure.set(error)
                                                   engine.stop()
                                               }
                                           })
            stream.smoothingHalfLifeMilliseconds = options.smoothingHalfLifeMilliseconds
            let report = try engine.run(streams: [stream])
            if let error = failure.error { throw error }
            if let error = engine.captureError(ofStream: 0) { throw error }
            framesRead = report.framesReceived
            framesAnalysed = report.framesAnalysed
        } else {
            let run = AnalysisRun(options: options, analyzer: analyzer)
            let summary = try run.run(source: source, sink: store, momentSink: storeMoment,
                                      progress: { done, total in Console.progress(label, done: done, total: total) })
            framesRead = summary.framesRead
            framesAnalysed = summary.framesAnalysed
        }
        Console.clearProgress()
        try Blocking.run { try await writer.finish(actor: actor) }
        try JSONOutput.print(SessionSummary(
            session: writer.session.id, study: writer.session.studyID, participant: participant,
            mode: writer.policy.mode.rawValue, framesRead: framesRead, framesAnalysed: framesAnalysed,
            recordsWritten: writer.recordsWritten, provenance: writer.session.provenanceID))
    }
}

/// The first error a live sink hit, shared with the thread that waits for the run.
final class FailureSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?

    var isSet: Bool { lock.withLock { first != nil } }
    var error: (any Error)? { lock.withLock { first } }

    func set(_ error: any Error) {
        lock.withLock { if first == nil { first = error } }
    }
}
