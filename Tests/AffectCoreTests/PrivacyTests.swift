import AffectCore
import Testing

@Suite struct PurposeGuardTests {
    @Test(arguments: StudyContext.allCases)
    func onlyWorkplaceAndEducationNeedAnExemption(_ context: StudyContext) {
        let prohibited = context == .workplace || context == .education
        func outcome(_ exemption: ArticleFiveExemption?) -> PurposeGuard.Refusal? {
            do {
                try PurposeGuard.check(context: context, exemption: exemption)
                return nil
            } catch {
                return error
            }
        }
        #expect(outcome(nil) == (prohibited ? .prohibitedContext(context) : nil))
        #expect(outcome(.medical) == (prohibited ? nil : .exemptionNotNeeded(context)))
        #expect(outcome(.safety) == (prohibited ? nil : .exemptionNotNeeded(context)))
    }

    @Test func definitionsAreValidatedPurposeGuardFirst() {
        var definition = StudyDefinition(name: "", purpose: "", context: .education)
        #expect(throws: StudyDefinition.Invalid.prohibited(.prohibitedContext(.education))) { try definition.validate() }
        definition.context = .mediaResearch
        #expect(#expect(throws: StudyDefinition.Invalid.self) { try definition.validate() }?.description
            == "a study name must be 1 to 200 characters")
        definition.name = "n"
        definition.purpose = "p"
        definition.kAnonymity = 1
        #expect(#expect(throws: StudyDefinition.Invalid.self) { try definition.validate() }?.description == "k must be 2 to 10000")
        definition.kAnonymity = 5
        definition.excludedEmotions = Set(Emotion.allCases)
        #expect(throws: StudyDefinition.Invalid.allEmotionsExcluded) { try definition.validate() }
    }

    /// Device analysis's settings go together: measures need the server, a fallback and a rate need device
    /// analysis, and the rate is 1 to 30 frames a second.
    @Test func deviceAnalysisSettingsAreChecked() throws {
        var definition = StudyDefinition(name: "n", purpose: "p", context: .mediaResearch, analysis: .device,
                                         deviceFallback: true, deviceFramesPerSecond: 30)
        try definition.validate()
        definition.measures = true
        #expect(throws: StudyDefinition.Invalid.measuresNeedServerAnalysis) { try definition.validate() }
        definition.measures = false
        for rate in [0.5, 31, .nan] {
            definition.deviceFramesPerSecond = rate
            #expect(throws: StudyDefinition.Invalid.self) { try definition.validate() }
        }
        definition.deviceFramesPerSecond = nil
        definition.analysis = .server
        #expect(throws: StudyDefinition.Invalid.fallbackNeedsDeviceAnalysis) { try definition.validate() }
        definition.deviceFallback = false
        try definition.validate()
        definition.deviceFramesPerSecond = 10
        #expect(throws: StudyDefinition.Invalid.self) { try definition.validate() }
    }

    /// WebRTC's settings go together: the transport is for server analysis, a rate and every-frame
    /// analysis need it, and the rate is 1 to 30 frames a second.
    @Test func webRTCSettingsAreChecked() throws {
        var definition = StudyDefinition(name: "n", purpose: "p", context: .mediaResearch, transport: .webrtc,
                                         captureFramesPerSecond: 30, everyFrame: true)
        try definition.validate()
        definition.analysis = .device
        #expect(throws: StudyDefinition.Invalid.webRTCNeedsServerAnalysis) { try definition.validate() }
        definition.analysis = .server
        for rate in [0.5, 31, .nan, .infinity] {
            definition.captureFramesPerSecond = rate
            #expect(throws: StudyDefinition.Invalid.self) { try definition.validate() }
        }
        definition.captureFramesPerSecond = nil
        try definition.validate()
        definition.transport = .jpeg
        #expect(throws: StudyDefinition.Invalid.everyFrameNeedsWebRTC) { try definition.validate() }
        definition.everyFrame = false
        try definition.validate()
        definition.captureFramesPerSecond = 10
        #expect(throws: StudyDefinition.Invalid.captureRate(10)) { try definition.validate() }
    }

    @Test func noticeSaysWherePicturesAreAnalysed() {
        var study = StudyDefinition(name: "Trailer", purpose: "cuts", context: .mediaResearch)
        #expect(TransparencyNotice.text(for: study).contains("sent to the study's server, analysed there in memory and never stored"))
        #expect(!TransparencyNotice.text(for: study).contains("WebRTC"))
        study.transport = .webrtc
        #expect(TransparencyNotice.text(for: study).contains("as an encrypted video stream (WebRTC), analysed there in memory and never stored"))
        study.transport = .jpeg
        study.analysis = .device
        #expect(TransparencyNotice.text(for: study).contains("no picture of you is sent anywhere, only the estimates"))
        #expect(!TransparencyNotice.text(for: study).contains("asked separately"))
        study.deviceFallback = true
        #expect(TransparencyNotice.text(for: study).contains("you would be asked separately"))
    }

    @Test func noticeSaysWhatTheModeKeeps() {
        let study = StudyDefinition(name: "Trailer", purpose: "cuts", context: .mediaResearch, mode: .aggregate,
                                    retentionDays: 14, excludedEmotions: [.fear])
        let notice = TransparencyNotice.text(for: study)
        #expect(notice.contains("emotion recognition system"))
        #expect(notice.contains("only averages over 10-second windows"))
        #expect(notice.contains("Kept for 14 days"))
        #expect(notice.contains("Never measured in this study: fear."))
        #expect(notice.contains("not measurements of what you feel"))
    }
}

@Suite struct ResultMinimiserTests {
    static func face(happy: Double, track: Int? = nil) -> FaceResult {
        let rest = (1 - happy) / 6
        let scores = Emotion.allCases.map { $0 == .happy ? happy : rest }
        return FaceResult(box: Box(x: 0, y: 0, width: 10, height: 10), score: 1, landmarks: [],
                          emotions: EmotionDistribution(scores: scores) ?? .uniform, track: track)
    }

    @Test func optOutsAreRemovedAndTheRestRenormalised() throws {
        let distribution = try #require(EmotionDistribution(scores: [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]))
        let reported = try #require(ReportedEmotions(distribution, excluding: [.happy]))
        #expect(reported[.happy] == nil)
        #expect(abs((reported[.angry] ?? 0) - 0.1 / 0.6) < 1e-12)
        #expect(abs(Emotion.allCases.compactMap { reported[$0] }.reduce(0, +) - 1) < 1e-12)
    }

    @Test func aggregateModeEmitsWindowsOnAFixedGridAndNothingPerFrame() {
        var minimiser = ResultMinimiser(mode: .aggregate, windowMilliseconds: 1000)
        var emitted: [MinimisedRecord] = []
        for index in 0..<25 {
            let faces = index % 5 == 0 ? [] : [Self.face(happy: 0.5), Self.face(happy: 0.9)]
            emitted += minimiser.consume(FrameResult(frame: index, timeMilliseconds: Double(index) * 100, faces: faces))
        }
        #expect(emitted.count == 2, "windows [0,1) and [1,2) s closed; [2,3) still open")
        emitted += minimiser.finish()
        let windows = emitted.compactMap { if case .window(let row) = $0 { row } else { nil } }
        #expect(windows.map(\.startMilliseconds) == [0, 1000, 2000])
        #expect(windows[0].frames == 10 && windows[0].framesWithFace == 8)
        #expect(abs((windows[0].emotions?[.happy] ?? 0) - 0.7) < 1e-9, "mean over every face of the window")
        #expect(windows[2].frames == 5)
    }

    @Test func groupModePoolsFacesWithoutTracks() {
        var minimiser = ResultMinimiser(mode: .group)
        let records = minimiser.consume(FrameResult(frame: 3, timeMilliseconds: 120, faces: [
            Self.face(happy: 0.2, track: 1), Self.face(happy: 0.8, track: 2),
        ]))
        guard case .group(let row) = records.first, records.count == 1 else { Issue.record("one group row"); return }
        #expect(row.faces == 2 && abs((row.emotions?[.happy] ?? 0) - 0.5) < 1e-9)
        #expect(row.frontalFaces == 2, "faces without landmarks count as looking")
        let empty = minimiser.consume(FrameResult(frame: 4, timeMilliseconds: 160, faces: []))
        #expect(empty == [.group(GroupFrameRow(frame: 4, timeMilliseconds: 160, faces: 0, frontalFaces: 0, emotions: nil))])
    }

    @Test func individualModeKeepsTracksAndMomentsOnlyWithoutExclusions() {
        var minimiser = ResultMinimiser(mode: .individual, excluded: [.sad])
        let records = minimiser.consume(FrameResult(frame: 0, timeMilliseconds: 0, faces: [Self.face(happy: 0.6, track: 7)]))
        guard case .face(let row) = records.first else { Issue.record("a face row"); return }
        #expect(row.track == 7 && row.emotions[.sad] == nil)
        let moment = Moment(track: 7, emotion: .happy, onsetMilliseconds: 0, peakMilliseconds: 1, peak: 0.7, endMilliseconds: 2)
        #expect(minimiser.consume(moment: moment).isEmpty)
        #expect(ResultMinimiser(mode: .individual).consume(moment: moment) == [.moment(moment)])
        #expect(ResultMinimiser(mode: .group).consume(moment: moment).isEmpty)
    }
}
