import Foundation

extension FaceMeasures {
    /// Constants that turn landmark ratios into the 0-to-1 scales and angles, measured on the talking-head
    /// clips and the fixtures (docs/model-card.md, "Measures").
    public enum Scale {
        /// Eye aspect ratio of a closed eye (eyes_open 0) and of an open one (eyes_open 1).
        public static let closedEyeRatio = 0.10
        public static let openEyeRatio = 0.30
        /// Inner-lip gap over mouth width of a wide-open mouth (mouth_open 1).
        public static let openMouthRatio = 0.5
        /// Eyeball radius over eye width (corner to corner): about 12 mm over 30 mm.
        public static let eyeballRadiusPerEyeWidth = 0.4
        /// Where the iris centre sits below the corners' line, in eye widths, for a gaze level with the head.
        public static let irisRestDrop = -0.07
    }

    /// Measures one face from its landmarks and fitted head pose.
    public init(landmarks: FaceLandmarks, headPose: HeadPose) {
        let right = Self.eyeOpenness(landmarks.rightEye), left = Self.eyeOpenness(landmarks.leftEye)
        let eyesOpen = EyesOpen(left: left, right: right)
        let gazeOffsets = [Self.irisOffset(landmarks.rightEye), Self.irisOffset(landmarks.leftEye)]
        let meanHorizontal = (gazeOffsets[0].horizontal + gazeOffsets[1].horizontal) / 2
        let meanVertical = (gazeOffsets[0].vertical + gazeOffsets[1].vertical) / 2
        let degrees = 180 / Double.pi
        func eyeAngle(_ offset: Double) -> Double {
            asin(min(1, max(-1, offset / Scale.eyeballRadiusPerEyeWidth))) * degrees
        }
        let gaze = Gaze(yaw: headPose.yaw + eyeAngle(meanHorizontal),
                        pitch: headPose.pitch - eyeAngle(meanVertical - Scale.irisRestDrop))
        self.init(headPose: headPose, gaze: gaze, eyesOpen: eyesOpen, mouthOpen: Self.mouthOpenness(landmarks.mesh),
                  geometry: Self.geometry(landmarks.mesh),
                  attending: Attention.isAttending(headPose: headPose, eyesOpen: eyesOpen))
    }

    /// The eye aspect ratio (Soukupová and Čech, 2016): mean lid-to-lid height over corner-to-corner
    /// width, from the iris model's refined contour.
    public static func eyeAspectRatio(_ eye: FaceLandmarks.Eye) -> Double {
        let c = eye.contour.map(\.flat)
        guard c.count >= 16 else { return 0 }
        let width = c[0].distance(to: c[8])
        guard width > 1e-6 else { return 0 }
        // Upper lid points 11 and 13 sit above lower lid points 3 and 5.
        return (c[11].distance(to: c[3]) + c[13].distance(to: c[5])) / (2 * width)
    }

    static func eyeOpenness(_ eye: FaceLandmarks.Eye) -> Double {
        let ratio = eyeAspectRatio(eye)
        return min(1, max(0, (ratio - Scale.closedEyeRatio) / (Scale.openEyeRatio - Scale.closedEyeRatio)))
    }

    /// The iris centre's offset from the middle of the eye's corners, in eye widths, along the corner
    /// line (positive towards the image's right) and across it (positive down the image).
    public static func irisOffset(_ eye: FaceLandmarks.Eye) -> (horizontal: Double, vertical: Double) {
        guard eye.contour.count >= 9, let iris = eye.iris.first?.flat,
              let line = LevelLine(eye.contour[0].flat, eye.contour[8].flat) else { return (0, 0) }
        return (line.along(iris) / line.length, line.across(iris) / line.length)
    }

    static func mouthOpenness(_ mesh: [Point3]) -> Double {
        typealias I = FaceLandmarks.Index
        guard mesh.count > I.mouthLeft else { return 0 }
        let width = mesh[I.mouthRight].flat.distance(to: mesh[I.mouthLeft].flat)
        guard width > 1e-6 else { return 0 }
        let gap = mesh[I.upperLipInner].flat.distance(to: mesh[I.lowerLipInner].flat)
        return min(1, max(0, gap / width / Scale.openMouthRatio))
    }

    static func geometry(_ mesh: [Point3]) -> Geometry {
        typealias I = FaceLandmarks.Index
        guard mesh.count > I.leftEyeInner else { return Geometry(smile: 0, browRaise: 0) }
        let p = { (index: Int) in mesh[index].flat }
        let rightEye = p(I.rightEyeOuter).midpoint(p(I.rightEyeInner))
        let leftEye = p(I.leftEyeInner).midpoint(p(I.leftEyeOuter))
        // Face-upright axes from the eye line, so head roll does not move the measures.
        guard let eyes = LevelLine(rightEye, leftEye) else { return Geometry(smile: 0, browRaise: 0) }
        let interocular = eyes.length
        let down = eyes.across
        let mouthWidth = p(I.mouthRight).distance(to: p(I.mouthLeft))
        let lipCentre = (down(p(I.upperLipInner)) + down(p(I.lowerLipInner))) / 2
        let corners = (down(p(I.mouthRight)) + down(p(I.mouthLeft))) / 2
        let smile = mouthWidth > 1e-6 ? (lipCentre - corners) / mouthWidth : 0
        let brow = (p(I.rightBrow).distance(to: p(I.rightUpperLid)) + p(I.leftBrow).distance(to: p(I.leftUpperLid))) / 2
        return Geometry(smile: smile, browRaise: brow / interocular)
    }
}
