/// Whether a face looks roughly at the camera, from the detector's landmarks: what engagement counts.
///
/// Both detectors give the eyes first and the nose tip third (CenterFace: left eye, right eye, nose,
/// mouth corners; BlazeFace: right eye, left eye, nose tip, mouth, ears). When a head turns, the
/// nose tip moves off the midpoint between the eyes, along the line through them. The offset, in
/// inter-eye distances, is a yaw proxy: about 0.35 at a 30° turn for an average face. On the
/// talking-head clips (people facing the camera) the median offset is 0.04 to 0.16 and the maximum
/// 0.37. It ignores pitch, and a far-turned profile loses an eye anyway.
public enum HeadPose {
    /// Faces whose nose sits further off the eyes' midpoint than this are not counted as frontal.
    public static let frontalLimit = 0.35

    /// The nose tip's offset from the eyes' midpoint along the eye line, in inter-eye distances;
    /// nil without eye and nose landmarks or with the eyes on one point.
    public static func yawOffset(_ landmarks: [Point]) -> Double? {
        guard landmarks.count >= 3 else { return nil }
        let (first, second, nose) = (landmarks[0], landmarks[1], landmarks[2])
        let dx = second.x - first.x, dy = second.y - first.y
        let squared = dx * dx + dy * dy
        guard squared > 1e-9 else { return nil }
        let middleX = (first.x + second.x) / 2, middleY = (first.y + second.y) / 2
        return ((nose.x - middleX) * dx + (nose.y - middleY) * dy) / squared
    }

    /// Whether the face looks roughly at the camera; nil when the landmarks cannot tell.
    public static func isRoughlyFrontal(_ landmarks: [Point]) -> Bool? {
        yawOffset(landmarks).map { abs($0) <= frontalLimit }
    }
}
