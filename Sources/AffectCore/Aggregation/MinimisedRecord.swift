/// A result in the only shapes a ``ProcessingMode`` allows to be stored.
public enum MinimisedRecord: Sendable, Hashable {
    case face(FaceRow)
    /// An analysed frame without a face (individual mode): what engagement is measured against.
    case noFace(FacelessFrameRow)
    case group(GroupFrameRow)
    case window(WindowAggregateRow)
    /// A tracked face's expression moment (individual mode only: a moment follows one face).
    case moment(Moment)

    /// The mode that allows this record; the store refuses it for studies in any other mode.
    public var mode: ProcessingMode {
        switch self {
        case .face, .noFace, .moment: .individual
        case .group: .group
        case .window: .aggregate
        }
    }
}

/// One face in one frame (``ProcessingMode/individual``). No box, no landmarks: face
/// geometry is not needed for any analysis Affect offers, so it is never stored.
public struct FaceRow: Sendable, Hashable, Codable {
    public var frame: Int
    public var timeMilliseconds: Double
    /// Ephemeral, pseudonymous track id (with tracking on).
    public var track: Int?
    public var emotions: ReportedEmotions
    /// Whether the face counts as engaged: attending (``Attention``) when the study measures faces,
    /// otherwise looking roughly at the camera (``HeadPose``); nil when unknown.
    public var frontal: Bool?
    /// The landmark stage's measures, for studies that ask for them.
    public var measures: FaceMeasures?
    /// The blink that ended at this frame, for tracked faces with measures.
    public var blink: Blink?

    public init(frame: Int, timeMilliseconds: Double, track: Int?, emotions: ReportedEmotions, frontal: Bool? = nil,
                measures: FaceMeasures? = nil, blink: Blink? = nil) {
        self.frame = frame
        self.timeMilliseconds = timeMilliseconds
        self.track = track
        self.emotions = emotions
        self.frontal = frontal
        self.measures = measures
        self.blink = blink
    }
}

/// An analysed frame in which no face was found (``ProcessingMode/individual``). Face rows say
/// which frames had a face; these say which did not, so the share of frames with a face (engagement)
/// can be computed without storing anything about a face that is not there.
public struct FacelessFrameRow: Sendable, Hashable, Codable {
    public var frame: Int
    public var timeMilliseconds: Double

    public init(frame: Int, timeMilliseconds: Double) {
        self.frame = frame
        self.timeMilliseconds = timeMilliseconds
    }
}

/// One frame pooled over every face in it (``ProcessingMode/group``): no track, no per-face value.
public struct GroupFrameRow: Sendable, Hashable, Codable {
    public var frame: Int
    public var timeMilliseconds: Double
    public var faces: Int
    /// Faces that looked roughly at the camera, or whose pose is unknown (``HeadPose``); nil in rows
    /// stored before poses were kept.
    public var frontalFaces: Int?
    /// The mean over the frame's faces; nil when there was none.
    public var emotions: ReportedEmotions?
    /// The frame's faces' measures pooled, for studies that measure faces.
    public var measures: MeasureSummary?

    public init(frame: Int, timeMilliseconds: Double, faces: Int, frontalFaces: Int? = nil, emotions: ReportedEmotions?,
                measures: MeasureSummary? = nil) {
        self.frame = frame
        self.timeMilliseconds = timeMilliseconds
        self.faces = faces
        self.frontalFaces = frontalFaces
        self.emotions = emotions
        self.measures = measures
    }
}

/// A window of a session (``ProcessingMode/aggregate``): means only.
public struct WindowAggregateRow: Sendable, Hashable, Codable {
    public var startMilliseconds: Double
    public var endMilliseconds: Double
    /// Frames analysed in the window, and how many of them had at least one face.
    public var frames: Int
    public var framesWithFace: Int
    /// Frames with a face that looked roughly at the camera, or whose pose is unknown (``HeadPose``);
    /// nil in rows stored before poses were kept.
    public var framesWithFrontalFace: Int?
    /// Mean over every face in every frame of the window; nil when there was none.
    public var emotions: ReportedEmotions?
    /// Every measured face of the window pooled, for studies that measure faces.
    public var measures: MeasureSummary?

    public init(startMilliseconds: Double, endMilliseconds: Double, frames: Int, framesWithFace: Int,
                framesWithFrontalFace: Int? = nil, emotions: ReportedEmotions?, measures: MeasureSummary? = nil) {
        self.measures = measures
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = endMilliseconds
        self.frames = frames
        self.framesWithFace = framesWithFace
        self.framesWithFrontalFace = framesWithFrontalFace
        self.emotions = emotions
    }
}
