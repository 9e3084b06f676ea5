import AffectCore
import Foundation

/// A square region of an image, turned by an angle, sampled into a network's square input: the
/// mapping both ways between input pixels and image pixels.
///
/// Coordinates are continuous (a pixel's centre at +0.5), so a point the network reports maps back to
/// the same place it came from, at any scale and angle.
public struct RotatedCrop: Sendable, Hashable {
    public var center: Point
    /// Side of the square in image pixels.
    public var side: Double
    /// Rotation in radians: the crop's x axis points along (cos, sin) in the image.
    public var angle: Double
    /// Side of the network's input in pixels.
    public var outputSize: Int
    /// The input is mirrored left to right (the iris model sees the subject's left eye mirrored).
    public var mirrored: Bool

    public init(center: Point, side: Double, angle: Double, outputSize: Int, mirrored: Bool = false) {
        self.center = center
        self.side = side
        self.angle = angle
        self.outputSize = outputSize
        self.mirrored = mirrored
    }

    /// The crop of a square whose x axis runs from `from` to `to`, `scale` times their distance wide.
    public init(along from: Point, to: Point, scale: Double, outputSize: Int, mirrored: Bool = false) {
        self.init(center: from.midpoint(to), side: from.distance(to: to) * scale,
                  angle: atan2(to.y - from.y, to.x - from.x), outputSize: outputSize, mirrored: mirrored)
    }

    private var step: Double { side / Double(outputSize) }

    /// The 2x3 matrix from output pixel indices to source pixel indices, as the bridge's warp takes it
    /// (mirroring is the bridge's own flag, applied after sampling).
    public var outputToSource: [Double] {
        let cosine = cos(angle) * step, sine = sin(angle) * step
        // Index u has its centre at u + 0.5; the crop's centre is at outputSize / 2.
        let shift = 0.5 - Double(outputSize) / 2
        return [cosine, -sine, center.x + (cosine - sine) * shift - 0.5,
                sine, cosine, center.y + (sine + cosine) * shift - 0.5]
    }

    /// A point the network reports, in its (possibly mirrored) input pixels, in image pixels; depth is
    /// scaled by the same factor as x and y.
    public func sourcePoint(x: Double, y: Double, z: Double) -> Point3 {
        let inputX = mirrored ? Double(outputSize) - x : x
        let dx = (inputX - Double(outputSize) / 2) * step, dy = (y - Double(outputSize) / 2) * step
        let cosine = cos(angle), sine = sin(angle)
        return Point3(x: center.x + cosine * dx - sine * dy, y: center.y + sine * dx + cosine * dy, z: z * step)
    }
}
