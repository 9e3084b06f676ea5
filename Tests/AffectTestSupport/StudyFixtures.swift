import AffectCore
import AffectStore

/// Stored data for tests of what is computed from it (reports, releases): participants recorded as
/// the capture would record them, without running the models.
public enum StudyFixtures {
    /// A participant who consented to analysis and to self-reported segments (`age`), with one
    /// ended session of ten frames (100 ms apart) whose only expression besides neutral is `happy`.
    public static func participant(_ store: PrivacyStore, study: Study, stimulus: Stimulus, age: String,
                                   happy: Double) async throws {
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition),
                  purposes: [Consent.analysisPurpose, Consent.segmentPurpose], segment: ["age": age]), actor: "test")
        let session = try await store.startSession(study: study.id, participant: participant.id, stimulus: stimulus.id,
                                                   provenance: .init(models: ["emotion": "abc"], configuration: [:]), actor: "test")
        let rows = (0..<10).compactMap { frame -> MinimisedRecord? in
            ReportedEmotions(probabilities: [0, 0, 0, happy, 0, 0, 1 - happy]).map {
                .face(FaceRow(frame: frame, timeMilliseconds: Double(frame) * 100, track: nil, emotions: $0))
            }
        }
        try await store.append(rows, toSession: session.id)
        try await store.endSession(session.id, actor: "test")
    }
}
