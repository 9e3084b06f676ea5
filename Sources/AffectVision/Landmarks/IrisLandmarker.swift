import AffectCore
import Foundation

/// MediaPipe's Iris model (Ablavatski et al., 2020): a refined eye contour and the iris from a 64x64
/// crop around each eye, placed by the face mesh's eye corners as MediaPipe's graph places it.
///
/// Not thread-safe (it owns a network): give each worker its own.
public final class IrisLandmarker {
    private let network: Network
    public static let inputSize = 64
    /// Square crop side as a multiple of the eye's corner-to-corner distance (MediaPipe's 2.3).
    public static let cropScale = 2.3
    private static let encoding = TensorEncoding(colour: .rgb, scale: 1.0 / 255.0, offset: 0)
    private static let contourCount = 71, irisCount = 5

    public init(modelPath: String) throws {
        network = try Network(path: modelPath, name: "iris")
        guard Set(network.outputNames) == ["output_eyes_contours_and_brows", "output_iris"] else {
            throw VisionError.networkLoadFailed(path: modelPath, reason: "unexpected iris outputs \(network.outputNames)")
        }
    }

    public convenience init(catalog: ModelCatalog) throws {
        try self.init(modelPath: catalog.verifiedModel(named: ModelCatalog.Name.iris).path)
    }

    /// Both eyes of a face mesh (image pixels).
    public func eyes(of mesh: [Point3], in image: Image) throws -> (right: FaceLandmarks.Eye, left: FaceLandmarks.Eye) {
        typealias I = FaceLandmarks.Index
        // The model was trained on the subject's right eye, outer corner on the crop's left; the left eye
        // is mirrored into that layout.
        let right = try eye(from: mesh[I.rightEyeOuter].flat, to: mesh[I.rightEyeInner].flat, mirrored: false, in: image)
        let left = try eye(from: mesh[I.leftEyeInner].flat, to: mesh[I.leftEyeOuter].flat, mirrored: true, in: image)
        return (right, left)
    }

    private func eye(from: Point, to: Point, mirrored: Bool, in image: Image) throws -> FaceLandmarks.Eye {
        let crop = RotatedCrop(along: from, to: to, scale: Self.cropScale, outputSize: Self.inputSize, mirrored: mirrored)
        let tensor = try image.tensor(outputToSource: crop.outputToSource, width: Self.inputSize,
                                      height: Self.inputSize, encoding: Self.encoding, mirrored: mirrored)
        let outputs = try network.forward(tensor, shape: (1, 3, Self.inputSize, Self.inputSize))
        guard let contour = outputs["output_eyes_contours_and_brows"], contour.values.count == Self.contourCount * 3,
              let iris = outputs["output_iris"], iris.values.count == Self.irisCount * 3 else {
            throw VisionError.inferenceFailed(model: network.name, reason: "unexpected output shapes")
        }
        func points(_ values: [Float], _ count: Int) -> [Point3] {
            (0..<count).map {
                crop.sourcePoint(x: Double(values[3 * $0]), y: Double(values[3 * $0 + 1]), z: Double(values[3 * $0 + 2]))
            }
        }
        return FaceLandmarks.Eye(contour: points(contour.values, Self.contourCount), iris: points(iris.values, Self.irisCount))
    }
}
