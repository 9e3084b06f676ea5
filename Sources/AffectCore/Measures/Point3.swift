/// A landmark with depth: image pixels for x and y; z in the same units, smaller is nearer the camera.
public struct Point3: Sendable, Hashable {
    public var x: Double
    public var y: Double
    public var z: Double

    public init(x: Double, y: Double, z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// The point in the image plane.
    public var flat: Point { Point(x: x, y: y) }
}

extension Point {
    /// Euclidean distance in the image plane.
    public func distance(to other: Point) -> Double {
        ((x - other.x) * (x - other.x) + (y - other.y) * (y - other.y)).squareRoot()
    }

    /// The point halfway to `other`.
    public func midpoint(_ other: Point) -> Point { Point(x: (x + other.x) / 2, y: (y + other.y) / 2) }
}
