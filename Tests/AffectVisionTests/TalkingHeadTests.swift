import AffectCore
import AffectPipeline
import AffectTestSupport
import AffectVision
import Foundation
import Testing

/// Each talking-head clip shows one person: at least 98% of analysed frames must have exactly one face.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct TalkingHeadTests {
    static let clips = ["RD_Radio2_000", "RD_Radio34_000", "WDA_AlexandriaOcasioCortez_000", "WDA_BobMenendez_000",
                        "WDA_EdMarkey0_000", "WDA_KatieHill_000"]

    @Test(arguments: DetectorKind.allCases)
    func exactlyOneFacePerFrame(detector: DetectorKind) throws {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        let analyzer = try FrameAnalyzer(catalog: catalog, detector: detector)
        for clip in Self.clips {
            let source = try VideoInput(parsing: TestEnvironment.data("talking-heads/\(clip).mp4")).open()
            let run = AnalysisRun(policy: .fileDefault, analyzer: analyzer)
            var times: [Double] = []
            let summary = try run.run(source: source, sink: { times.append($0.timeMilliseconds) })
            #expect(summary.framesRead == 200, "\(clip)")
            #expect(summary.framesAnalysed == 40, "\(clip): 8 s at 5 analysed frames per second")
            #expect(Double(summary.framesWithOneFace) >= 0.98 * Double(summary.framesAnalysed),
                    "\(clip) \(detector): \(summary.framesWithOneFace)/\(summary.framesAnalysed)")
            #expect(times.first == 0 && times.last.map { abs($0 - 7800) < 1e-6 } == true, "\(clip): index/fps clock")
        }
    }
}
