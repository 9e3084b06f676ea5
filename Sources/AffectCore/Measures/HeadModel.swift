import Foundation

/// The generic 3-D face that head pose is fitted against, and how a fitted rotation becomes angles.
///
/// Six points of an average adult face (the model commonly used with OpenCV's solvePnP), in millimetres
/// with the nose tip at the origin, in the camera's axes for a face looking straight at it: x towards
/// the image's right, y down, z away from the camera. Each is tied to the MediaPipe mesh point at the
/// same place. A generic face cannot fit everyone: a person's own proportions shift their angles by a
/// few degrees, the same way in every frame, so changes over time are more trustworthy than levels.
public enum HeadModel {
    /// (mesh index, x, y, z) in millimetres.
    public static let points: [(index: Int, x: Double, y: Double, z: Double)] = [
        (FaceLandmarks.Index.noseTip, 0, 0, 0),
        (FaceLandmarks.Index.chin, 0, 63.6, 12.5),
        (FaceLandmarks.Index.rightEyeOuter, -43.3, -32.7, 26.0),
        (FaceLandmarks.Index.leftEyeOuter, 43.3, -32.7, 26.0),
        (FaceLandmarks.Index.mouthRight, -28.9, 28.9, 24.1),
        (FaceLandmarks.Index.mouthLeft, 28.9, 28.9, 24.1),
    ]

    /// Distance between the two outer eye corners of the model, in millimetres.
    public static let eyeCornerSpacing = 86.6

    /// Yaw, pitch and roll in degrees from a rotation (row-major 3x3, model to camera).
    ///
    /// Yaw and pitch are the direction the face points (the model's -z axis after rotation); roll is the
    /// in-image angle of the face's up direction (the model's -y axis), positive clockwise.
    public static func angles(rotation r: [Double]) -> FaceMeasures.HeadPose? {
        guard r.count == 9, r.allSatisfy(\.isFinite) else { return nil }
        // Columns of the rotation are the model's axes in camera coordinates.
        let forward = (x: -r[2], y: -r[5], z: -r[8])
        let up = (x: -r[1], y: -r[4])
        let degrees = 180 / Double.pi
        let yaw = atan2(forward.x, -forward.z) * degrees
        let pitch = atan2(-forward.y, (forward.x * forward.x + forward.z * forward.z).squareRoot()) * degrees
        let roll = atan2(up.x, -up.y) * degrees
        return FaceMeasures.HeadPose(yaw: yaw, pitch: pitch, roll: roll)
    }
}
