import AffectCore
import Foundation
import Testing

@Suite struct MeasuresGeometryTests {
    /// Row-major rotation about the camera's y axis (down), turning the face's forward (-z) towards +x
    /// for positive angles, then about z (roll, clockwise in the image).
    static func rotation(yawDegrees: Double, rollDegrees: Double) -> [Double] {
        let y = -yawDegrees * .pi / 180, r = rollDegrees * .pi / 180
        let yawMatrix: [Double] = [cos(y), 0, sin(y), 0, 1, 0, -sin(y), 0, cos(y)]
        let rollMatrix: [Double] = [cos(r), -sin(r), 0, sin(r), cos(r), 0, 0, 0, 1]
        var product = [Double](repeating: 0, count: 9)
        for row in 0..<3 {
            for column in 0..<3 {
                for k in 0..<3 { product[row * 3 + column] += rollMatrix[row * 3 + k] * yawMatrix[k * 3 + column] }
            }
        }
        return product
    }

    @Test func anglesFromRotations() throws {
        let identity = try #require(HeadModel.angles(rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
        #expect(abs(identity.yaw) < 1e-9 && abs(identity.pitch) < 1e-9 && abs(identity.roll) < 1e-9)
        let turned = try #require(HeadModel.angles(rotation: Self.rotation(yawDegrees: 30, rollDegrees: 0)))
        #expect(abs(turned.yaw - 30) < 1e-9 && abs(turned.pitch) < 1e-9 && abs(turned.roll) < 1e-9)
        let tilted = try #require(HeadModel.angles(rotation: Self.rotation(yawDegrees: 0, rollDegrees: 15)))
        #expect(abs(tilted.roll - 15) < 1e-9 && abs(tilted.yaw) < 1e-9)
        #expect(HeadModel.angles(rotation: [1, 0, 0]) == nil)
        #expect(HeadModel.angles(rotation: [.nan, 0, 0, 0, 1, 0, 0, 0, 1]) == nil)
    }

    @Test func attentionLimits() {
        let open = FaceMeasures.EyesOpen(left: 0.9, right: 0.9), shut = FaceMeasures.EyesOpen(left: 0.1, right: 0.2)
        #expect(Attention.isAttending(headPose: .init(yaw: 29, pitch: -24, roll: 40), eyesOpen: open))
        #expect(!Attention.isAttending(headPose: .init(yaw: 31, pitch: 0, roll: 0), eyesOpen: open))
        #expect(!Attention.isAttending(headPose: .init(yaw: 0, pitch: 26, roll: 0), eyesOpen: open))
        #expect(!Attention.isAttending(headPose: .init(yaw: 0, pitch: 0, roll: 0), eyesOpen: shut))
    }

    /// An eye drawn as a 30 px wide almond: the aspect ratio, openness and iris offset follow the points.
    @Test func eyeRatiosFromPoints() {
        func eye(height: Double, irisX: Double) -> FaceLandmarks.Eye {
            var contour = (0..<71).map { _ in Point3(x: 0, y: 0, z: 0) }
            for index in 0...8 {   // lower lid, corner to corner
                let x = Double(index) * 30 / 8
                contour[index] = Point3(x: x, y: height / 2 * sin(Double.pi * x / 30), z: 0)
            }
            for index in 9...15 {  // upper lid, points 1...7 of the same span
                let x = Double(index - 8) * 30 / 8
                contour[index] = Point3(x: x, y: -height / 2 * sin(Double.pi * x / 30), z: 0)
            }
            return FaceLandmarks.Eye(contour: contour, iris: [Point3(x: irisX, y: 0, z: 0)] + Array(repeating: Point3(x: 0, y: 0, z: 0), count: 4))
        }
        let open = eye(height: 12, irisX: 15)
        // Points 11/3 and 13/5 sit at x = 11.25 and 18.75, where the lids are 12 * sin(3π/8) apart.
        let expected = 12 * sin(3 * Double.pi / 8) / 30
        #expect(abs(FaceMeasures.eyeAspectRatio(open) - expected) < 1e-9)
        #expect(FaceMeasures.eyeAspectRatio(eye(height: 0, irisX: 15)) == 0)
        let offset = FaceMeasures.irisOffset(eye(height: 12, irisX: 21))
        #expect(abs(offset.horizontal - 0.2) < 1e-9 && abs(offset.vertical) < 1e-9)
    }
}
