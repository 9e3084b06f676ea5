import AffectCore
import CVBridge

/// Head pose by fitting ``HeadModel`` to a face mesh with OpenCV's solvePnP.
///
/// The camera is assumed to be a pinhole with a focal length equal to the image's width (about a 53°
/// horizontal field of view, a typical webcam) and its centre at the image's centre; the angles are
/// little affected by that guess for a face near the middle of the picture.
public enum HeadPoseSolver {
    /// The head pose of a mesh in an image `width` x `height`, or nil when the fit fails.
    public static func headPose(mesh: [Point3], width: Int, height: Int) -> FaceMeasures.HeadPose? {
        guard HeadModel.points.allSatisfy({ $0.index < mesh.count }), width > 0, height > 0 else { return nil }
        let model = HeadModel.points.flatMap { [$0.x, $0.y, $0.z] }
        let projected = HeadModel.points.flatMap { [mesh[$0.index].x, mesh[$0.index].y] }
        // Start from a face looking at the camera, at the distance its eye corners' spacing implies, with
        // its nose where the mesh puts it: the iterative fit then converges to the right one of the
        // pose's two mirror-image solutions.
        let focal = Double(width), cx = Double(width) / 2, cy = Double(height) / 2
        let corners = (mesh[FaceLandmarks.Index.rightEyeOuter].flat, mesh[FaceLandmarks.Index.leftEyeOuter].flat)
        let spacing = corners.0.distance(to: corners.1)
        guard spacing > 1 else { return nil }
        let depth = focal * HeadModel.eyeCornerSpacing / spacing
        let nose = mesh[FaceLandmarks.Index.noseTip]
        let guess = [(nose.x - cx) * depth / focal, (nose.y - cy) * depth / focal, depth]
        var rotation = [Double](repeating: 0, count: 9)
        var translation = [Double](repeating: 0, count: 3)
        let status = cvb_solve_pnp(model, projected, Int32(HeadModel.points.count), focal, cx, cy, guess,
                                   &rotation, &translation)
        // A fit that puts the face behind the camera is a mirror solution, not a pose.
        guard status == 0, translation[2] > 0 else { return nil }
        return HeadModel.angles(rotation: rotation)
    }
}
