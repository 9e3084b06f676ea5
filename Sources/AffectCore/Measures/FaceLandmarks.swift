/// What the landmark stage finds on one face, in image pixels: MediaPipe's 468-point face mesh and, per
/// eye, the iris model's refined eye contour and iris. Held in memory only: no output, store or log ever
/// carries these points (a dense mesh describes a face's shape); only ``FaceMeasures`` leave the stage.
public struct FaceLandmarks: Sendable {
    /// One eye as the iris model sees it.
    public struct Eye: Sendable {
        /// 71 points; the first 16 outline the visible eyeball: 0...8 the lower lid from one corner to the
        /// other (MediaPipe mesh points 33, 7, 163, 144, 145, 153, 154, 155, 133 for the subject's right
        /// eye), 9...15 the upper lid (246, 161, 160, 159, 158, 157, 173).
        public var contour: [Point3]
        /// The iris centre, then four points on its rim.
        public var iris: [Point3]

        public init(contour: [Point3], iris: [Point3]) {
            self.contour = contour
            self.iris = iris
        }
    }

    /// The 468 mesh points in MediaPipe's numbering.
    public var mesh: [Point3]
    /// The subject's right eye (on the image's left when the face looks at the camera).
    public var rightEye: Eye
    /// The subject's left eye.
    public var leftEye: Eye

    public init(mesh: [Point3], rightEye: Eye, leftEye: Eye) {
        self.mesh = mesh
        self.rightEye = rightEye
        self.leftEye = leftEye
    }

    /// MediaPipe mesh indices the measures use.
    public enum Index {
        public static let noseTip = 1
        public static let chin = 152
        /// Outer and inner corners of the subject's right eye.
        public static let rightEyeOuter = 33, rightEyeInner = 133
        /// Inner and outer corners of the subject's left eye.
        public static let leftEyeInner = 362, leftEyeOuter = 263
        /// Mouth corners: the subject's right, then left.
        public static let mouthRight = 61, mouthLeft = 291
        /// Inner lip midpoints.
        public static let upperLipInner = 13, lowerLipInner = 14
        /// Outer lip midpoints.
        public static let upperLipOuter = 0, lowerLipOuter = 17
        /// Upper lid midpoints.
        public static let rightUpperLid = 159, leftUpperLid = 386
        /// Brow midpoints (upper edge).
        public static let rightBrow = 105, leftBrow = 334
    }
}
