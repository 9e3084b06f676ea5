import AffectCore
@testable import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// One suite, run against every backend: the privacy rules hold whatever the database.
@Suite(.serialized) struct PrivacyStoreTests {
    static let actor = "test"

    static func mediaStudy(_ mode: ProcessingMode = .individual, name: String = "Trailer test",
                           retentionDays: Int = 30) -> StudyDefinition {
        StudyDefinition(name: name, purpose: "Which trailer cut holds attention", context: .mediaResearch, mode: mode,
                        retentionDays: retentionDays)
    }

    static func distribution(happy: Double) -> EmotionDistribution {
        EmotionDistribution(scores: [0.05, 0.05, 0.05, happy, 0.05, 0.05, 1 - happy]) ?? .uniform
    }

    static func frames(_ count: Int, faces: Int = 1) -> [FrameResult] {
        (0..<count).map { index in
            FrameResult(frame: index * 5, timeMilliseconds: Double(index) * 200, faces: (0..<faces).map { face in
                FaceResult(box: Box(x: 10, y: 10, width: 50, height: 50), score: 0.9, landmarks: [],
                           emotions: distribution(happy: 0.1 + 0.01 * Double(index % 50)), track: face)
            })
        }
    }

    /// Enrols a consenting participant and starts a session.
    static func consentingSession(_ store: PrivacyStore, study: Study,
                                  excluded: Set<Emotion> = []) async throws -> (Participant, Session) {
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition), excludedEmotions: excluded),
            actor: actor)
        let session = try await store.startSession(study: study.id, participant: participant.id,
                                                   provenance: Provenance(models: ["emotion": "abc"], configuration: ["fps": "5"]),
                                                   actor: actor)
        return (participant, session)
    }

    static func write(_ results: [FrameResult], to session: Session, store: PrivacyStore) async throws {
        let policy = try await store.policy(forSession: session.id)
        var minimiser = ResultMinimiser(mode: policy.mode, excluded: policy.excludedEmotions,
                                        windowMilliseconds: policy.windowMilliseconds)
        for result in results { try await store.append(minimiser.consume(result), toSession: session.id) }
        try await store.append(minimiser.finish(), toSession: session.id)
    }

    func count(_ store: PrivacyStore, _ table: String) async throws -> Int {
        try await store.database.transaction { transaction in
            try await transaction.query("SELECT COUNT(*) AS n FROM \(table)").first?["n"].int ?? -1
        }
    }

    @Test(arguments: StoreBackend.available)
    func workplaceAndEducationStudiesAreRefusedUnlessMedicalOrSafety(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        for context in [StudyContext.workplace, .education] {
            let definition = StudyDefinition(name: "Staff mood \(context)", purpose: "engagement", context: context)
            await #expect {
                _ = try await store.createStudy(definition, actor: Self.actor)
            } throws: { error in
                String(describing: error).contains("EU AI Act Art. 5(1)(f)")
            }
        }
        #expect(try await count(store, "studies") == 0)
        #expect(try await store.auditEvents().isEmpty, "a refused study leaves nothing")

        var exempt = StudyDefinition(name: "Driver fatigue", purpose: "detect drowsiness of forklift drivers",
                                     context: .workplace, exemption: .safety)
        let study = try await store.createStudy(exempt, actor: Self.actor)
        #expect(study.definition.exemption == .safety)
        let event = try #require(try await store.auditEvents().last)
        #expect(event.action == "study.create" && event.details.contains("safety (EU AI Act Art. 5(1)(f))"))
        #expect(event.details.contains("Art. 50"), "the transparency notice is on record")

        exempt.name = "Trailer"
        exempt.context = .mediaResearch
        await #expect(throws: StoreError.self) { _ = try await store.createStudy(exempt, actor: Self.actor) }
    }

    @Test(arguments: StoreBackend.available)
    func sessionsNeedValidConsent(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let provenance = Provenance(models: [:], configuration: [:])
        await #expect(throws: StoreError.unknownParticipant("p_0000000000000001")) {
            _ = try await store.startSession(study: study.id, participant: "p_0000000000000001", provenance: provenance, actor: Self.actor)
        }
        await #expect(throws: StoreError.malformedIdentifier(kind: "participant", value: "alice")) {
            _ = try await store.startSession(study: study.id, participant: "alice", provenance: provenance, actor: Self.actor)
        }
        let (participant, _) = try await store.recordConsent(.init(study: study.id, noticeText: "notice"), actor: Self.actor)
        _ = try await store.withdrawConsent(participant: participant.id, actor: Self.actor)
        await #expect {
            _ = try await store.startSession(study: study.id, participant: participant.id, provenance: provenance, actor: Self.actor)
        } throws: { error in
            String(describing: error).contains("withdrawn")
        }
        #expect(try await count(store, "sessions") == 0)
        #expect(try await count(store, "provenance") == 0, "nothing stored for a refused session")
        await #expect(throws: StoreError.unknownStudy("nope")) { _ = try await store.study("nope") }
    }

    @Test(arguments: StoreBackend.available)
    func individualModeStoresScoresWithoutGeometry(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(.individual), actor: Self.actor)
        let (_, session) = try await Self.consentingSession(store, study: study)
        try await Self.write(Self.frames(10, faces: 2), to: session, store: store)
        let records = try await store.results(session: session.id)
        #expect(records.count == 20)
        guard case .face(let first) = records.first else { Issue.record("expected face rows"); return }
        #expect(first.track == 0)
        #expect(abs((first.emotions[.happy] ?? 0) - Self.distribution(happy: 0.1)[.happy]) < 1e-9)
        #expect(try await count(store, "group_frames") == 0)
        #expect(try await count(store, "window_aggregates") == 0)
        // The store refuses shapes the mode does not allow, even from a caller that skips the minimiser.
        let window = MinimisedRecord.window(WindowAggregateRow(startMilliseconds: 0, endMilliseconds: 10_000, frames: 1,
                                                               framesWithFace: 1, emotions: nil))
        await #expect(throws: StoreError.self) { try await store.append([window], toSession: session.id) }
    }

    @Test(arguments: StoreBackend.available, [ProcessingMode.aggregate, .group])
    func aggregateAndGroupModesStoreNoPerFaceRows(_ backend: StoreBackend, mode: ProcessingMode) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(mode), actor: Self.actor)
        let (_, session) = try await Self.consentingSession(store, study: study)
        try await Self.write(Self.frames(120, faces: 3), to: session, store: store)
        try await store.endSession(session.id, actor: Self.actor)
        #expect(try await count(store, "face_results") == 0)
        let records = try await store.results(session: session.id)
        switch mode {
        case .aggregate:
            // 120 frames 200 ms apart: 24 s, so windows [0,10), [10,20), [20,30) s.
            #expect(records.count == 3)
            #expect(try await count(store, "group_frames") == 0)
            guard case .window(let first) = records.first else { Issue.record("expected windows"); return }
            #expect(first.frames == 50 && first.framesWithFace == 50)
        default:
            #expect(records.count == 120)
            #expect(try await count(store, "window_aggregates") == 0)
            guard case .group(let first) = records.first else { Issue.record("expected group rows"); return }
            #expect(first.faces == 3)
        }
        let face = MinimisedRecord.face(FaceRow(frame: 0, timeMilliseconds: 0, track: nil,
                                                emotions: try #require(ReportedEmotions(.uniform, excluding: []))))
        let running = try await Self.consentingSession(store, study: study).1
        await #expect {
            try await store.append([face], toSession: running.id)
        } throws: { error in
            String(describing: error).contains("stores no per-face rows")
        }
        #expect(try await count(store, "face_results") == 0)
    }

    @Test(arguments: StoreBackend.available)
    func momentsAreKeptOnlyForIndividualSessionsWithoutExclusions(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let moment = Moment(track: 0, emotion: .happy, onsetMilliseconds: 1000, peakMilliseconds: 1400, peak: 0.9,
                            endMilliseconds: 2200)
        let individual = try await store.createStudy(Self.mediaStudy(.individual), actor: Self.actor)
        let (participant, session) = try await Self.consentingSession(store, study: individual)
        let writer = try await SessionWriter(store: store, study: individual.id, participant: participant.id,
                                             provenance: Provenance(models: [:], configuration: [:]), actor: Self.actor,
                                             batching: .immediate)
        try await writer.record(moment: moment)
        #expect(try await store.results(session: writer.session.id) == [.moment(moment)])
        let export = try await store.exportSubject(participant: participant.id, actor: Self.actor)
        #expect(export.sessions.flatMap(\.moments) == [moment])
        _ = session

        let (_, excluding) = try await Self.consentingSession(store, study: individual, excluded: [.sad])
        await #expect(throws: StoreError.self) { try await store.append([.moment(moment)], toSession: excluding.id) }
        let aggregate = try await store.createStudy(Self.mediaStudy(.aggregate, name: "agg"), actor: Self.actor)
        let (_, windowed) = try await Self.consentingSession(store, study: aggregate)
        await #expect(throws: StoreError.self) { try await store.append([.moment(moment)], toSession: windowed.id) }
        #expect(try await count(store, "moments") == 1)
    }

    @Test(arguments: StoreBackend.available)
    func optedOutExpressionsAreNeverStored(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(.individual), actor: Self.actor)
        let (_, session) = try await Self.consentingSession(store, study: study, excluded: [.happy])
        try await Self.write(Self.frames(5), to: session, store: store)
        let nonNull = try await store.database.transaction { transaction in
            try await transaction.query("SELECT COUNT(*) AS n FROM face_results WHERE happy IS NOT NULL").first?["n"].int
        }
        #expect(nonNull == 0)
        guard case .face(let row) = try await store.results(session: session.id).first else { Issue.record("no rows"); return }
        let remaining = Emotion.allCases.compactMap { row.emotions[$0] }
        #expect(remaining.count == 6 && abs(remaining.reduce(0, +) - 1) < 1e-9, "the rest renormalised")
        let leaking = MinimisedRecord.face(FaceRow(frame: 99, timeMilliseconds: 0, track: 0,
                                                   emotions: try #require(ReportedEmotions(.uniform, excluding: []))))
        await #expect(throws: StoreError.self) { try await store.append([leaking], toSession: session.id) }
    }

    @Test(arguments: StoreBackend.available)
    func withdrawalStopsProcessingAndDeletesDerivedData(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(.individual), actor: Self.actor)
        let (participant, session) = try await Self.consentingSession(store, study: study)
        let (_, other) = try await Self.consentingSession(store, study: study)
        try await Self.write(Self.frames(10), to: session, store: store)
        try await Self.write(Self.frames(10), to: other, store: store)
        let withdrawal = try await store.withdrawConsent(participant: participant.id, actor: Self.actor)
        #expect(withdrawal.sessionsDeleted == 1 && withdrawal.rowsDeleted == 10)
        await #expect {
            try await Self.write(Self.frames(1), to: session, store: store)
        } throws: { error in
            error as? StoreError == .unknownSession(session.id)
        }
        await #expect(throws: StoreError.unknownSession(session.id)) { _ = try await store.results(session: session.id) }
        #expect(try await store.results(session: other.id).count == 10, "other participants keep their data")
        #expect(try await store.auditEvents().contains { $0.action == "consent.withdraw" && $0.subject == participant.id })
    }

    @Test(arguments: StoreBackend.available)
    func keepAggregatesFoldsWithdrawnResultsIntoAnonymousWindows(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        var definition = Self.mediaStudy(.individual)
        definition.onWithdrawal = .keepAggregates
        definition.kAnonymity = 2
        let study = try await store.createStudy(definition, actor: Self.actor)
        var participants: [Participant] = []
        for _ in 0..<3 {
            let (participant, session) = try await Self.consentingSession(store, study: study)
            // 60 frames 200 ms apart: 12 s, windows [0,10) and [10,20) s.
            try await Self.write(Self.frames(60), to: session, store: store)
            participants.append(participant)
        }
        let first = try await store.withdrawConsent(participant: participants[0].id, actor: Self.actor)
        #expect(first.windowsKeptAnonymously == 2 && first.rowsDeleted == 60)
        #expect(try await store.retainedWindows(study: study.id).isEmpty, "one contributor is below k = 2: withheld")
        _ = try await store.withdrawConsent(participant: participants[1].id, actor: Self.actor)
        let windows = try await store.retainedWindows(study: study.id)
        #expect(windows.map(\.contributors) == [2, 2])
        // Frames 0..<50 have happy 0.1 + 0.01 * i before normalisation; the mean is what both contributed.
        let expected = (0..<50).map { Self.distribution(happy: 0.1 + 0.01 * Double($0))[.happy] }.reduce(0, +) / 50
        #expect(abs((windows[0].meanEmotions[Emotion.happy.index] ?? 0) - expected) < 1e-9)
        #expect(try await count(store, "face_results") == 60, "only the participant who stayed keeps rows")
        let columns = try await store.database.transaction { transaction in
            try await transaction.query("SELECT * FROM study_aggregates").first?.values.keys.sorted() ?? []
        }
        #expect(!columns.contains { $0.contains("participant") || $0.contains("session") })
    }

    @Test(arguments: StoreBackend.available)
    func stimuliVariantsAndSegmentsNeedTheirOwnConsent(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let cutA = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/cut-a.mp4"), actor: Self.actor)
        let cutB = try await store.addStimulus(study: study.id, name: "Cut", variant: "B", source: .url("https://example.invalid/cut-b.mp4"), actor: Self.actor)
        await #expect(throws: StoreError.duplicateStimulus(name: "Cut", variant: "A")) {
            _ = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/x.mp4"), actor: Self.actor)
        }
        #expect(try await store.stimuli(study: study.id).map(\.variant) == ["A", "B"])

        let notice = TransparencyNotice.text(for: study.definition)
        await #expect(throws: StoreError.self, "segments need consent to that purpose") {
            _ = try await store.recordConsent(.init(study: study.id, noticeText: notice, segment: ["age": "25-34"]), actor: Self.actor)
        }
        await #expect(throws: StoreError.self, "only short plain attributes") {
            _ = try await store.recordConsent(.init(study: study.id, noticeText: notice,
                                                    purposes: [Consent.analysisPurpose, Consent.segmentPurpose],
                                                    segment: ["age": "<script>"]), actor: Self.actor)
        }
        #expect(try await count(store, "participants") == 0)
        let (participant, consent) = try await store.recordConsent(
            .init(study: study.id, noticeText: notice, purposes: [Consent.analysisPurpose, Consent.segmentPurpose],
                  segment: ["age": "25-34", "region": "EU"]), actor: Self.actor)
        #expect(participant.segment == ["age": "25-34", "region": "EU"])
        #expect(consent.purposes == [Consent.analysisPurpose, Consent.segmentPurpose])

        let session = try await store.startSession(study: study.id, participant: participant.id, stimulus: cutB.id,
                                                   provenance: Provenance(models: [:], configuration: [:]), actor: Self.actor)
        #expect(session.stimulusID == cutB.id)
        let other = try await store.createStudy(Self.mediaStudy(name: "other"), actor: Self.actor)
        let foreign = try await store.addStimulus(study: other.id, name: "Ad", variant: "A", source: .url("https://example.invalid/ad.mp4"), actor: Self.actor)
        await #expect(throws: StoreError.unknownStimulus(foreign.id)) {
            _ = try await store.startSession(study: study.id, participant: participant.id, stimulus: foreign.id,
                                             provenance: Provenance(models: [:], configuration: [:]), actor: Self.actor)
        }
        _ = cutA
        let export = try await store.exportSubject(participant: participant.id, actor: Self.actor)
        #expect(export.participant.segment?["region"] == "EU" && export.sessions.first?.session.stimulusID == cutB.id)
    }

    @Test(arguments: StoreBackend.available)
    func purgeDeletesExpiredSessionsOnly(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let short = try await store.createStudy(Self.mediaStudy(.individual, name: "short", retentionDays: 1), actor: Self.actor)
        let long = try await store.createStudy(Self.mediaStudy(.individual, name: "long", retentionDays: 30), actor: Self.actor)
        let (_, expiring) = try await Self.consentingSession(store, study: short)
        let (_, kept) = try await Self.consentingSession(store, study: long)
        let (_, running) = try await Self.consentingSession(store, study: short)
        for session in [expiring, kept, running] { try await Self.write(Self.frames(4), to: session, store: store) }
        try await store.endSession(expiring.id, actor: Self.actor)
        try await store.endSession(kept.id, actor: Self.actor)

        let early = try await store.purge(actor: Self.actor)
        #expect(early.sessionsDeleted == 0)
        let twoDaysOn = Int64(Date().timeIntervalSince1970 * 1000) + 2 * 86_400_000
        let purge = try await store.purge(asOf: twoDaysOn, actor: Self.actor)
        #expect(purge.sessionsDeleted == 1 && purge.rowsDeleted == 4)
        await #expect(throws: StoreError.unknownSession(expiring.id)) { _ = try await store.results(session: expiring.id) }
        #expect(try await store.results(session: kept.id).count == 4)
        #expect(try await store.results(session: running.id).count == 4, "a running session is not purged")
        #expect(try await store.auditEvents().filter { $0.action == "purge" }.count == 2)
    }

    @Test(arguments: StoreBackend.available)
    func editingAnAuditRowBreaksTheChainThere(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        _ = try await Self.consentingSession(store, study: study)
        _ = try await Self.consentingSession(store, study: study)
        let events = try await store.auditEvents()
        #expect(events.count == 5)
        guard case .intact(let count, _) = try await store.verifyAudit() else { Issue.record("chain should be intact"); return }
        #expect(count == 5)
        try await store.database.transaction { transaction in
            try await transaction.execute("UPDATE audit_events SET actor = 'someone else' WHERE seq = 3")
        }
        #expect(try await store.verifyAudit() == .broken(sequence: 3, reason: "its content does not match its hash (edited)"))
    }

    @Test(arguments: StoreBackend.available)
    func subjectExportAndDeletion(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let (participant, session) = try await Self.consentingSession(store, study: study)
        try await Self.write(Self.frames(6), to: session, store: store)
        let export = try await store.exportSubject(participant: participant.id, actor: Self.actor)
        #expect(export.consents.count == 1 && export.sessions.count == 1)
        #expect(export.sessions[0].faceResults.count == 6)
        #expect(export.sessions[0].provenance?.models["emotion"] == "abc")
        let deletion = try await store.deleteSubject(participant: participant.id, actor: Self.actor)
        #expect(deletion.rowsDeleted == 6 && deletion.consentsDeleted == 1)
        await #expect(throws: StoreError.unknownParticipant(participant.id)) {
            _ = try await store.exportSubject(participant: participant.id, actor: Self.actor)
        }
        for table in ["participants", "consents", "sessions", "face_results"] {
            #expect(try await count(store, table) == 0, "\(table) emptied")
        }
        let actions = try await store.auditEvents().map(\.action)
        #expect(actions.suffix(2) == ["subject.export", "subject.delete"])
    }

    @Test(arguments: StoreBackend.available)
    func aLinkOpensOneCaptureSessionUntilWithdrawal(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        var definition = Self.mediaStudy()
        definition.participantReadout = true
        let study = try await store.createStudy(definition, actor: Self.actor)
        #expect(try await store.study(study.id).definition.participantReadout, "the readout setting round-trips")
        let stimulus = try await store.addStimulus(study: study.id, name: "Cut", variant: "A", source: .url("https://example.invalid/cut.mp4"), actor: Self.actor)
        let (_, secret) = try await store.createInvitation(study: study.id, stimulus: stimulus.id, hours: 1, actor: Self.actor)
        let provenance = Provenance(models: ["emotion": "abc"], configuration: [:])
        await #expect(throws: StoreError.invitationUnusable("has no consent yet")) {
            _ = try await store.startSession(throughInvitation: secret, provenance: provenance, owner: "test")
        }
        let (participant, _, _) = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose],
                                                          excludedEmotions: [], segment: nil)
        let started = try await store.startSession(throughInvitation: secret, provenance: provenance, owner: "test")
        let (session, link) = (started.session, started.link)
        #expect(session.stimulusID == stimulus.id && session.participantID == participant.id && started.resumeFromMilliseconds == nil)
        #expect(link.invitation.sessionID == session.id && link.stimulus?.id == stimulus.id)
        #expect(try await store.participantLink(secret: secret).invitation.sessionID == session.id)
        try await Self.write(Self.frames(4), to: session, store: store)
        let (withdrawal, _) = try await store.withdrawConsent(throughInvitation: secret)
        #expect(withdrawal.sessionsDeleted == 1 && withdrawal.rowsDeleted == 4)
        await #expect(throws: StoreError.noConsent(participant: participant.id, reason: "withdrawn")) {
            _ = try await store.participantLink(secret: secret)
        }
    }

    /// A link's session that did not complete is resumed through the link: the epoch rises, the
    /// earlier writer is fenced off, frames before what is stored are not taken again, and a completed
    /// session is not reopened.
    @Test(arguments: StoreBackend.available)
    func aResumeFencesTheEarlierWriterAndStartsAfterWhatIsStored(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let (_, secret) = try await store.createInvitation(study: study.id, hours: 1, actor: Self.actor)
        _ = try await store.consent(throughInvitation: secret, purposes: [Consent.analysisPurpose], excludedEmotions: [], segment: nil)
        let provenance = Provenance(models: ["emotion": "abc"], configuration: [:])
        let first = try await store.startSession(throughInvitation: secret, provenance: provenance, owner: "server:a")
        let policy = try await store.policy(forSession: first.session.id)
        var minimiser = ResultMinimiser(mode: policy.mode, excluded: policy.excludedEmotions, windowMilliseconds: policy.windowMilliseconds)
        let frames = Self.frames(6)
        for frame in frames.prefix(3) {
            try await store.append(minimiser.consume(frame), toSession: first.session.id, epoch: first.session.epoch)
        }
        let second = try await store.startSession(throughInvitation: secret, provenance: provenance, owner: "server:b")
        #expect(second.session.id == first.session.id && second.session.epoch == first.session.epoch + 1)
        #expect(second.resumeFromMilliseconds == (400.0).nextUp, "three frames at 0, 200 and 400 ms are stored")
        await #expect(throws: StoreError.sessionContinuedElsewhere(first.session.id)) {
            try await store.append(minimiser.consume(frames[3]), toSession: first.session.id, epoch: first.session.epoch)
        }
        try await store.endSession(first.session.id, actor: "server:a", epoch: first.session.epoch)
        #expect(try await store.session(first.session.id).status == "running", "a fenced writer ends nothing")
        await #expect(throws: StoreError.invitationUnusable("has a session scored by other models, which cannot be continued here")) {
            _ = try await store.startSession(throughInvitation: secret, provenance: .init(models: ["emotion": "def"], configuration: [:]),
                                             owner: "server:c")
        }
        for frame in frames.suffix(3) {
            try await store.append(minimiser.consume(frame), toSession: second.session.id, epoch: second.session.epoch)
        }
        try await store.endSession(second.session.id, actor: "server:b", epoch: second.session.epoch)
        #expect(try await store.results(session: second.session.id).count == 6, "nothing lost, nothing doubled")
        await #expect(throws: StoreError.invitationUnusable("has already been used for a session")) {
            _ = try await store.startSession(throughInvitation: secret, provenance: provenance, owner: "server:c")
        }
        #expect(try await store.auditEvents().map(\.action).contains("session.resume"))
    }

    /// A batch committed twice (its first commit's answer lost in an outage, then retried) is stored
    /// once: every result row has a natural key, and an insert skips a key already stored.
    @Test(arguments: StoreBackend.available, [ProcessingMode.individual, .aggregate, .group])
    func aBatchCommittedTwiceIsStoredOnce(_ backend: StoreBackend, mode: ProcessingMode) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(mode), actor: Self.actor)
        let (_, session) = try await Self.consentingSession(store, study: study)
        let policy = try await store.policy(forSession: session.id)
        var minimiser = ResultMinimiser(mode: policy.mode, excluded: policy.excludedEmotions, windowMilliseconds: policy.windowMilliseconds)
        // Two faces a frame (tracks 0 and 1) over 8 s, then a frame without a face.
        var batch = Self.frames(40, faces: 2).flatMap { minimiser.consume($0) }
        batch += minimiser.consume(FrameResult(frame: 400, timeMilliseconds: 8_000, faces: []))
        batch += minimiser.finish()
        #expect(!batch.isEmpty)
        try await store.append(batch, toSession: session.id)
        let once = try await store.results(session: session.id)
        try await store.append(batch, toSession: session.id)
        try await store.append(Array(batch.suffix(3)), toSession: session.id)
        let twice = try await store.results(session: session.id)
        #expect(twice.count == once.count && once.count == batch.count, "\(mode): \(batch.count) records, \(twice.count) stored")
    }

    /// Duplicates stored before results had natural keys are removed by the migration that adds the
    /// keys (keeping one of each), and faces without a track, which have no key, are all kept.
    @Test(arguments: StoreBackend.available)
    func theNaturalKeyMigrationRemovesEarlierDuplicates(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let (_, session) = try await Self.consentingSession(store, study: study)
        let untracked = FrameResult(frame: 500, timeMilliseconds: 10_000, faces: (0..<2).map { _ in
            FaceResult(box: Box(x: 10, y: 10, width: 50, height: 50), score: 0.9, landmarks: [], emotions: Self.distribution(happy: 0.5))
        })
        try await Self.write(Self.frames(5) + [untracked], to: session, store: store)
        let stored = try await store.results(session: session.id).count
        // What an Affect before version 16 could store: no keys, and each row written twice.
        try await store.database.transaction { transaction in
            for index in ["face_results_key", "faceless_frames_key", "group_frames_key", "window_aggregates_key", "moments_key"] {
                try await transaction.execute("DROP INDEX \(index)")
            }
            try await transaction.execute("DELETE FROM schema_migrations WHERE version = 16")
            try await transaction.execute("INSERT INTO face_results SELECT * FROM face_results")
        }
        #expect(try await store.results(session: session.id).count == 2 * stored)
        try await Schema.migrate(store.database)
        let after = try await store.results(session: session.id)
        #expect(after.count == stored + 2, "one of each tracked face is kept; the two untracked faces, written twice, have no key")
        try await store.append(Array(after.prefix(2)), toSession: session.id)
        #expect(try await store.results(session: session.id).count == after.count)
    }

    /// A session whose owner stops renewing its lease (a server killed mid-capture) becomes
    /// `interrupted`, once, however many servers settle at once; it then counts for retention.
    @Test(arguments: StoreBackend.available)
    func anAbandonedSessionIsInterruptedOnceAndPurgedByRetention(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore(sessionLeaseMilliseconds: 1_000)
        defer { cleanup() }
        let study = try await store.createStudy(Self.mediaStudy(), actor: Self.actor)
        let (participant, _) = try await store.recordConsent(
            .init(study: study.id, noticeText: TransparencyNotice.text(for: study.definition)), actor: Self.actor)
        let abandoned = try await store.startSession(study: study.id, participant: participant.id,
                                                     provenance: .init(models: ["emotion": "abc"], configuration: [:]), actor: Self.actor)
        let kept = try await store.startSession(study: study.id, participant: participant.id,
                                                provenance: .init(models: ["emotion": "abc"], configuration: [:]), actor: Self.actor)
        try await Self.write(Self.frames(3), to: abandoned, store: store)
        #expect(try await store.interruptExpiredSessions(actor: "server").isEmpty, "leases still held")
        try await Task.sleep(for: .milliseconds(1_500))
        // Renewed late but before anyone settled: still the owner's (a lease is judged when settling).
        #expect(try await store.renewLeases([(kept.id, kept.epoch)]) == [])
        let settled = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<5 { group.addTask { try await store.interruptExpiredSessions(actor: "server") } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(settled == [abandoned.id], "interrupted once, by one of five settling at once")
        let session = try await store.session(abandoned.id)
        #expect(session.status == "interrupted" && session.endedAt != nil)
        #expect(try await store.auditEvents().filter { $0.action == "session.interrupt" }.map(\.subject) == [abandoned.id])
        let purge = try await store.purge(asOf: (session.endedAt ?? 0) + 400 * 86_400_000, actor: Self.actor)
        #expect(purge.sessionsDeleted == 1, "retention counts an interrupted session")
    }
}

/// Loud when PostgreSQL is not configured, so the missing half of the suite shows as skipped.
@Suite struct PostgresConfiguredTests {
    @Test(.enabled(if: TestEnvironment.postgresURL != nil, "AFFECT_TEST_POSTGRES_URL not set: PostgreSQL store tests skipped"))
    func postgresBackendRuns() async throws {
        let database = try await PostgresDatabase(url: TestEnvironment.postgresURL ?? "")
        let rows = try await database.transaction { try await $0.query("SELECT 1 AS one") }
        #expect(rows.first?["one"].int == 1)
        try await database.close()
    }

    @Test(.enabled(if: TestEnvironment.postgresURL != nil, "AFFECT_TEST_POSTGRES_URL not set: PostgreSQL store tests skipped"))
    func aRefusedLoginIsAClearErrorAtOpen() async throws {
        // The running test server, but a database it does not have: the server's own words, at once.
        let url = (TestEnvironment.postgresURL ?? "").replacingOccurrences(of: "/affect_test?", with: "/no_such_database?")
        #expect(url != TestEnvironment.postgresURL)
        await #expect {
            _ = try await PostgresDatabase(url: url)
        } throws: { error in
            String(describing: error).contains("no_such_database\" does not exist")
        }
    }

    @Test func unreachableServerGivesAClearError() async throws {
        await #expect {
            _ = try await PostgresDatabase(url: "postgres://affect@/nowhere?host=/nonexistent-socket-dir")
        } throws: { error in
            let message = String(describing: error)
            return message.contains("postgres://affect@/nonexistent-socket-dir/nowhere") && message.contains("cannot reach")
        }
    }
}
