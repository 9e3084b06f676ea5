/// What Affect measures about one face besides its expression probabilities, from the landmark stage.
///
/// Angles are in degrees in the image's frame as the camera sees it: yaw is positive when the face (or
/// gaze) turns towards the image's right (the subject's left), pitch positive when it turns up, roll
/// positive when the head tilts clockwise in the image. Every value is an estimate from one frame and one
/// camera, not a measurement of the person; docs/model-card.md says how each is made and how well it does.
public struct FaceMeasures: Sendable, Hashable, Codable {
    /// Head orientation from the face mesh fitted to a generic 3-D face (``HeadModel``).
    public struct HeadPose: Sendable, Hashable, Codable {
        public var yaw: Double
        public var pitch: Double
        public var roll: Double

        public init(yaw: Double, pitch: Double, roll: Double) {
            self.yaw = yaw
            self.pitch = pitch
            self.roll = roll
        }
    }

    /// Where the eyes point: head pose plus the irises' position in the eyes.
    public struct Gaze: Sendable, Hashable, Codable {
        public var yaw: Double
        public var pitch: Double

        public init(yaw: Double, pitch: Double) {
            self.yaw = yaw
            self.pitch = pitch
        }
    }

    /// How open each eye is, 0 (closed) to 1 (open), from its eye aspect ratio.
    public struct EyesOpen: Sendable, Hashable, Codable {
        public var left: Double
        public var right: Double
        public var mean: Double

        public init(left: Double, right: Double) {
            self.left = left
            self.right = right
            mean = (left + right) / 2
        }
    }

    /// Shape measures from landmark distances. They are geometry, not FACS action units: nobody coded
    /// them, and a face's build moves them as much as its expression does. Compare them within one face
    /// over time, not across people.
    public struct Geometry: Sendable, Hashable, Codable {
        /// How far the mouth corners sit above the lips' centre, in mouth widths (about 0 at rest,
        /// positive when the corners rise as in a smile, negative when they fall).
        public var smile: Double
        /// Brow-to-upper-lid distance in inter-ocular distances (higher when the brows rise).
        public var browRaise: Double

        enum CodingKeys: String, CodingKey {
            case smile
            case browRaise = "brow_raise"
        }

        public init(smile: Double, browRaise: Double) {
            self.smile = smile
            self.browRaise = browRaise
        }
    }

    public var headPose: HeadPose
    public var gaze: Gaze
    public var eyesOpen: EyesOpen
    /// Inner-lip gap over mouth width, scaled so 1 is a wide-open mouth; 0 closed.
    public var mouthOpen: Double
    public var geometry: Geometry
    /// Facing the screen within ``Attention`` limits with the eyes open.
    public var attending: Bool

    enum CodingKeys: String, CodingKey {
        case headPose = "head_pose"
        case gaze
        case eyesOpen = "eyes_open"
        case mouthOpen = "mouth_open"
        case geometry
        case attending
    }

    public init(headPose: HeadPose, gaze: Gaze, eyesOpen: EyesOpen, mouthOpen: Double, geometry: Geometry,
                attending: Bool) {
        self.headPose = headPose
        self.gaze = gaze
        self.eyesOpen = eyesOpen
        self.mouthOpen = mouthOpen
        self.geometry = geometry
        self.attending = attending
    }
}
