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

/// Axes laid along the line between two points, ordered left to right in the image, so measures taken
/// in them do not move when the head rolls: `along` grows towards the image's right, `across` down it.
struct LevelLine {
    let origin: Point
    let length: Double
    private let unit: Point

    /// Nil when the points coincide.
    init?(_ first: Point, _ second: Point) {
        let (a, b) = first.x <= second.x ? (first, second) : (second, first)
        length = a.distance(to: b)
        guard length > 1e-6 else { return nil }
        origin = a.midpoint(b)
        unit = Point(x: (b.x - a.x) / length, y: (b.y - a.y) / length)
    }

    /// The point's distance from the line's middle along it, and across it.
    func along(_ point: Point) -> Double { (point.x - origin.x) * unit.x + (point.y - origin.y) * unit.y }
    func across(_ point: Point) -> Double { -(point.x - origin.x) * unit.y + (point.y - origin.y) * unit.x }
}
