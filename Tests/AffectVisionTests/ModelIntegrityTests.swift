import AffectTestSupport
import AffectVision
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.hasModels, "needs models from scripts/bootstrap"))
struct ModelIntegrityTests {
    @Test func everyManifestModelVerifies() throws {
        let catalog = try ModelCatalog(directory: TestEnvironment.modelsDirectory)
        #expect(catalog.manifest.models.count == 5)
        #expect(Set(catalog.manifest.models.map(\.name)) == [ModelCatalog.Name.emotion, ModelCatalog.Name.centerFace,
                                                              ModelCatalog.Name.blazeFace, ModelCatalog.Name.faceMesh, ModelCatalog.Name.iris])
        for model in catalog.manifest.models {
            let verified = try catalog.verifiedModel(named: model.name)
            #expect(verified.entry.sha256.count == 64)
            #expect(verified.entry.source.wheelSHA256.count == 64)
        }
        #expect(catalog.manifest.model(named: ModelCatalog.Name.emotion)?.classes
            == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
    }

    @Test func alteredModelIsRefused() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = URL(fileURLWithPath: TestEnvironment.modelsDirectory)
        for file in ["manifest.json", "emotion_mini_xception.onnx"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let model = directory.appendingPathComponent("emotion_mini_xception.onnx")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: model)
        let catalog = try ModelCatalog(directory: directory.path)
        #expect {
            _ = try EmotionClassifier(catalog: catalog)
        } throws: { error in
            guard case VisionError.modelHashMismatch = error else { return false }
            return true
        }
        // A model the manifest lists but that is not there.
        #expect {
            _ = try catalog.verifiedModel(named: ModelCatalog.Name.centerFace)
        } throws: { error in
            guard case VisionError.modelMissing = error else { return false }
            return true
        }
    }

    @Test func missingManifestSaysHowToFixIt() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect {
            _ = try ModelCatalog(directory: directory.path)
        } throws: { error in
            String(describing: error).contains("bootstrap")
        }
    }
}
