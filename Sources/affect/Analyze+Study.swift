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
        Provenance.of(catalog: catalog, detector: detector, policy: policy, classifier: classification.options,
                      tracking: track, halfLifeMilliseconds: halfLife, measures: measures)
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
        let measures = self.measures
        let writer = try Blocking.run {
            let store = try await database.open()
            // What is measured is what participants were told: the study's setting decides, not the flag alone.
            let definition = try await store.study(study).definition
            if definition.measures != measures {
                throw UsageError(message: definition.measures
                    ? "study \(definition.name) measures faces (head pose, gaze, eyes, attention): add --measures"
                    : "study \(definition.name) does not measure faces, and its notice does not say so: drop --measures")
            }
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
        let outcome = try analyse(
            source: source, parsedInput: parsedInput, options: options, catalog: catalog, analyzer: analyzer,
            sink: { result in try Blocking.run { _ = try await writer.record(result) } },
            momentSink: { moment in try Blocking.run { _ = try await writer.record(moment: moment) } })
        Console.clearProgress()
        let recordsWritten = try Blocking.run { () async throws -> Int in
            _ = try await writer.finish(actor: actor)
            return await writer.recordsWritten
        }
        try JSONOutput.print(SessionSummary(
            session: writer.session.id, study: writer.session.studyID, participant: participant,
            mode: writer.policy.mode.rawValue, framesRead: outcome.framesRead, framesAnalysed: outcome.framesAnalysed,
            recordsWritten: recordsWritten, provenance: writer.session.provenanceID))
    }
}
