import AffectCore

/// The landmark stage: Face Mesh on each detected face, the iris model on its eyes, head pose fitted
/// to the mesh, and the ``FaceMeasures`` made from them. The landmarks themselves stay here.
///
/// Not thread-safe (it owns networks): give each worker its own.
public final class FaceMeasurer {
    private let mesh: FaceMeshLandmarker
    private let iris: IrisLandmarker

    public init(mesh: FaceMeshLandmarker, iris: IrisLandmarker) {
        self.mesh = mesh
        self.iris = iris
    }

    /// Builds the stage from the verified catalogue.
    public convenience init(catalog: ModelCatalog) throws {
        try self.init(mesh: FaceMeshLandmarker(catalog: catalog), iris: IrisLandmarker(catalog: catalog))
    }

    /// The landmarks of one detected face (image pixels), or nil when the mesh model sees no face there.
    public func landmarks(of face: FaceCandidate, in image: Image) throws -> FaceLandmarks? {
        guard let points = try mesh.mesh(of: face, in: image) else { return nil }
        let eyes = try iris.eyes(of: points, in: image)
        return FaceLandmarks(mesh: points, rightEye: eyes.right, leftEye: eyes.left)
    }

    /// The measures of one detected face, or nil when there is no mesh or no head pose fits it.
    public func measures(of face: FaceCandidate, in image: Image) throws -> FaceMeasures? {
        guard let landmarks = try landmarks(of: face, in: image),
              let pose = HeadPoseSolver.headPose(mesh: landmarks.mesh, width: image.width, height: image.height) else {
            return nil
        }
        return FaceMeasures(landmarks: landmarks, headPose: pose)
    }
}
