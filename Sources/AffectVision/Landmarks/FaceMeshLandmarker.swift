import AffectCore
import Foundation

/// MediaPipe's Face Mesh (Kartynnik et al., 2019): 468 points with depth from a 192x192 crop around a
/// detected face, rotated so the eyes are level, as MediaPipe's own graph prepares it.
///
/// Not thread-safe (it owns a network): give each worker its own.
public final class FaceMeshLandmarker {
    private let network: Network
    public static let inputSize = 192
    /// Square crop side as a multiple of the detector box's longer side (MediaPipe's 1.5).
    public static let cropScale = 1.5
    /// Faces whose presence score is below this have no mesh (MediaPipe's 0.5).
    public static let presenceThreshold = 0.5
    private static let encoding = TensorEncoding(colour: .rgb, scale: 1.0 / 255.0, offset: 0)
    private static let pointCount = 468

    public init(modelPath: String) throws {
        network = try Network(path: modelPath, name: "facemesh")
        guard network.outputNames.count == 2 else {
            throw VisionError.networkLoadFailed(path: modelPath, reason: "unexpected Face Mesh outputs \(network.outputNames)")
        }
    }

    public convenience init(catalog: ModelCatalog) throws {
        try self.init(modelPath: catalog.verifiedModel(named: ModelCatalog.Name.faceMesh).path)
    }

    /// The mesh of a detected face (image pixels), or nil when the model finds no face in the crop or the
    /// detector gave no eyes to level it by.
    public func mesh(of face: FaceCandidate, in image: Image) throws -> [Point3]? {
        guard face.landmarks.count >= 2 else { return nil }
        let (a, b) = face.landmarks[0].x <= face.landmarks[1].x
            ? (face.landmarks[0], face.landmarks[1]) : (face.landmarks[1], face.landmarks[0])
        let crop = RotatedCrop(center: face.box.center, side: max(face.box.width, face.box.height) * Self.cropScale,
                               angle: atan2(b.y - a.y, b.x - a.x), outputSize: Self.inputSize)
        let tensor = try image.tensor(outputToSource: crop.outputToSource, width: Self.inputSize,
                                      height: Self.inputSize, encoding: Self.encoding)
        let outputs = try network.forward(tensor, shape: (1, 3, Self.inputSize, Self.inputSize))
        guard let points = outputs.values.first(where: { $0.values.count == Self.pointCount * 3 }),
              let presence = outputs.values.first(where: { $0.values.count == 1 })?.values.first else {
            throw VisionError.inferenceFailed(model: network.name, reason: "unexpected output shapes")
        }
        let score = 1 / (1 + exp(-Double(max(-100, min(100, presence)))))
        guard score >= Self.presenceThreshold else { return nil }
        return (0..<Self.pointCount).map { index in
            crop.sourcePoint(x: Double(points.values[3 * index]), y: Double(points.values[3 * index + 1]),
                             z: Double(points.values[3 * index + 2]))
        }
    }
}
