/// When a face counts as attending: present, facing the screen and with its eyes open.
///
/// The limits allow for a webcam above or beside the screen (a face reading the screen is turned a
/// little from the camera) and for ordinary head movement; a face turned further, or with its eyes
/// closed (longer than a blink at the sampled frame), is not attending.
public enum Attention {
    /// Largest head yaw, either way, in degrees.
    public static let yawLimit = 30.0
    /// Largest head pitch, up or down, in degrees.
    public static let pitchLimit = 25.0
    /// Smallest mean ``FaceMeasures/EyesOpen`` value.
    public static let eyesOpenMinimum = 0.3

    /// Whether a face with this head pose and these eyes is attending.
    public static func isAttending(headPose: FaceMeasures.HeadPose, eyesOpen: FaceMeasures.EyesOpen) -> Bool {
        abs(headPose.yaw) <= yawLimit && abs(headPose.pitch) <= pitchLimit && eyesOpen.mean >= eyesOpenMinimum
    }
}
