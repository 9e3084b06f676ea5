import AffectCore
import AffectStore
import AffectTestSupport
import Foundation
import Testing

/// What each mode keeps of the landmark stage's measures, written and read back on both backends:
/// a face's measures and blink (individual), the measured faces pooled (group frames, windows).
extension PrivacyStoreTests {
    static func measured(_ frames: [FrameResult]) -> [FrameResult] {
        frames.map { frame in
            var frame = frame
            for index in frame.faces.indices {
                let step = Double(frame.frame)
                frame.faces[index].measures = FaceMeasures(
                    headPose: .init(yaw: step / 10, pitch: -2.5, roll: 1.25), gaze: .init(yaw: step / 5, pitch: 3),
                    eyesOpen: .init(left: 0.75, right: 0.25 + Double(index) / 4), mouthOpen: 0.125,
                    geometry: .init(smile: 0.0625, browRaise: 0.5), attending: frame.frame % 10 != 0)
                if frame.frame == 20 { frame.faces[index].blink = Blink(onsetMilliseconds: 600, durationMilliseconds: 160) }
            }
            return frame
        }
    }

    @Test(arguments: StoreBackend.available)
    func measuresAreKeptAsEachModeAllows(_ backend: StoreBackend) async throws {
        let (store, cleanup) = try await backend.makeStore()
        defer { cleanup() }
        let frames = Self.measured(Self.frames(10, faces: 2))
        for mode in ProcessingMode.allCases {
            let study = try await store.createStudy(
                StudyDefinition(name: "Measured \(mode.rawValue)", purpose: "Attention to trailers", context: .mediaResearch,
                                mode: mode, windowMilliseconds: 1000, measures: true), actor: Self.actor)
            #expect(try await store.study(study.id).definition.measures)
            let (_, session) = try await Self.consentingSession(store, study: study)
            var minimiser = ResultMinimiser(mode: mode, windowMilliseconds: 1000)
            let written = frames.flatMap { minimiser.consume($0) } + minimiser.finish()
            try await store.append(written, toSession: session.id)
            let read = try await store.results(session: session.id)
            switch mode {
            case .individual:
                let rows = read.compactMap { record -> FaceRow? in
                    if case .face(let row) = record { return row }
                    return nil
                }
                #expect(rows.count == 20)
                #expect(rows.map(\.measures) == frames.flatMap { $0.faces.map(\.measures) })
                #expect(rows.filter { $0.blink != nil }.count == 2 && rows.allSatisfy { $0.frontal == $0.measures?.attending })
            case .group:
                let summaries = read.compactMap { record -> MeasureSummary? in
                    if case .group(let row) = record { return row.measures }
                    return nil
                }
                #expect(summaries.count == 10 && summaries.allSatisfy { $0.faces == 2 })
                #expect(summaries.map(\.attending).reduce(0, +) == 10, "frames 5, 15, 25, 35 and 45 attend: 5 × 2 faces")
                #expect(summaries.map(\.blinks).reduce(0, +) == 2)
                #expect(summaries.first?.mean(.eyesOpen) == (0.5 + 0.625) / 2)
            case .aggregate:
                let windows = read.compactMap { record -> WindowAggregateRow? in
                    if case .window(let row) = record { return row }
                    return nil
                }
                #expect(windows.count == 2, "10 frames 200 ms apart in 1 s windows")
                let pooled = windows.compactMap(\.measures).reduce(MeasureSummary(), +)
                #expect(pooled.faces == 20 && pooled.attending == 10 && pooled.blinks == 2)
                #expect(abs((pooled.mean(.headYaw) ?? 0) - frames.map { Double($0.frame) / 10 }.reduce(0, +) / 10) < 1e-9)
            }
        }
        try await store.close()
    }
}
