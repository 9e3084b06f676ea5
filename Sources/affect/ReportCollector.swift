import AffectCore
import AffectReport
import AffectStore
import Foundation
import Synchronization

/// Keeps a run's frame results (numbers only, never pixels) for `analyze --report`.
final class ReportCollector: Sendable {
    private let results = Mutex<[FrameResult]>([])

    func add(_ result: FrameResult) {
        results.withLock { $0.append(result) }
    }

    /// The one-video report: the video is its only participant, so nothing is withheld (k = 1) and
    /// intervals are absent; the time axis is the video's own.
    func report(input: String, provenance: Provenance) -> StudyReport {
        var minimiser = ResultMinimiser(mode: .individual)
        let records = results.withLock { $0 }.sorted { $0.frame < $1.frame }.flatMap { minimiser.consume($0) }
        let name = (input as NSString).lastPathComponent
        let provenanceID = "this run"
        let info = StudyReport.StudyInfo(id: "affect analyze", name: name,
                                         purpose: "One video analysed with affect analyze: a single face track pooled, no audience.",
                                         mode: .individual, k: 1, noticeVersion: "n/a")
        return StudyReport(.init(study: info, stimuli: [],
                                 recordings: [.init(participant: "video", stimulus: name, provenance: provenanceID, records: records)],
                                 provenance: [provenanceID: provenance]))
    }
}
