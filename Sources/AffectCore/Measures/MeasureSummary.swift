/// The landmark stage's measures pooled over faces: what group and aggregate modes keep (sums, so
/// frames and windows pool exactly), and what one audience cell holds for a contributor.
public struct MeasureSummary: Sendable, Hashable, Codable {
    /// The pooled measures, by the name they have in results, reports and the API.
    public enum Name: String, Sendable, CaseIterable, Codable {
        case headYaw = "head_yaw", headPitch = "head_pitch", headRoll = "head_roll"
        case gazeYaw = "gaze_yaw", gazePitch = "gaze_pitch"
        case eyesOpen = "eyes_open", mouthOpen = "mouth_open", smile, browRaise = "brow_raise"

        /// The values the measure can take, for interval bounds.
        public var range: ClosedRange<Double> {
            switch self {
            case .headYaw, .headPitch, .headRoll, .gazeYaw, .gazePitch: -180...180
            case .eyesOpen, .mouthOpen: 0...1
            case .smile, .browRaise: -10...10
            }
        }

        public func value(of measures: FaceMeasures) -> Double {
            switch self {
            case .headYaw: measures.headPose.yaw
            case .headPitch: measures.headPose.pitch
            case .headRoll: measures.headPose.roll
            case .gazeYaw: measures.gaze.yaw
            case .gazePitch: measures.gaze.pitch
            case .eyesOpen: measures.eyesOpen.mean
            case .mouthOpen: measures.mouthOpen
            case .smile: measures.geometry.smile
            case .browRaise: measures.geometry.browRaise
            }
        }
    }

    /// Faces measured, and how many of them were attending.
    public var faces: Int
    public var attending: Int
    /// Blinks that ended (tracked faces only).
    public var blinks: Int
    /// Per name, the sum over the measured faces.
    public var sums: [String: Double]

    public init(faces: Int = 0, attending: Int = 0, blinks: Int = 0, sums: [String: Double] = [:]) {
        self.faces = faces
        self.attending = attending
        self.blinks = blinks
        self.sums = sums
    }

    public mutating func add(_ measures: FaceMeasures, blink: Blink?) {
        faces += 1
        if measures.attending { attending += 1 }
        if blink != nil { blinks += 1 }
        for name in Name.allCases { sums[name.rawValue, default: 0] += name.value(of: measures) }
    }

    /// Two summaries pooled.
    public static func + (lhs: MeasureSummary, rhs: MeasureSummary) -> MeasureSummary {
        MeasureSummary(faces: lhs.faces + rhs.faces, attending: lhs.attending + rhs.attending, blinks: lhs.blinks + rhs.blinks,
                       sums: lhs.sums.merging(rhs.sums, uniquingKeysWith: +))
    }

    public func mean(_ name: Name) -> Double? {
        faces > 0 ? sums[name.rawValue].map { $0 / Double(faces) } : nil
    }
}
