import AffectCore

/// Tracking, smoothing, moments and blinks as one pipeline stage: assigns track ids, adds each
/// track's smoothed distribution, marks the frame where a blink ends and reports the moments that close.
public struct TrackingStage: Sendable {
    public private(set) var tracker: FaceTracker
    public private(set) var moments: MomentDetector
    public private(set) var blinks = BlinkDetector()
    public let halfLifeMilliseconds: Double
    private var smoothers: [Int: ExponentialSmoothing] = [:]
    /// Tracks started so far.
    public private(set) var tracksStarted = 0

    public init(tracker: FaceTracker = FaceTracker(), moments: MomentDetector = MomentDetector(),
                halfLifeMilliseconds: Double = 500) {
        self.tracker = tracker
        self.moments = moments
        self.halfLifeMilliseconds = halfLifeMilliseconds
    }

    /// Annotates the faces of one analysed frame; returns the frame and the moments that ended.
    public mutating func process(_ frame: FrameResult) -> (FrameResult, [Moment]) {
        let update = tracker.update(boxes: frame.faces.map(\.box), landmarks: frame.faces.map(\.landmarks),
                                    at: frame.timeMilliseconds)
        tracksStarted += update.started.count
        var closed: [Moment] = []
        for id in update.ended {
            smoothers[id] = nil
            blinks.end(track: id)
            closed += moments.end(track: id)
        }
        var annotated = frame
        for (index, id) in update.assignments.enumerated() {
            var smoother = smoothers[id] ?? ExponentialSmoothing(halfLifeMilliseconds: halfLifeMilliseconds)
            let smoothed = smoother.update(frame.faces[index].emotions, at: frame.timeMilliseconds)
            smoothers[id] = smoother
            annotated.faces[index].track = id
            annotated.faces[index].smoothed = smoothed
            if let eyes = frame.faces[index].measures?.eyesOpen {
                annotated.faces[index].blink = blinks.observe(track: id, eyesOpen: eyes.mean, at: frame.timeMilliseconds)
            }
            closed += moments.observe(track: id, smoothed: smoothed, at: frame.timeMilliseconds)
        }
        return (annotated, closed)
    }

    /// Ends every track at the end of the source and returns their open moments.
    public mutating func finish() -> [Moment] {
        tracker.finish().flatMap { id in
            blinks.end(track: id)
            return moments.end(track: id)
        }
    }
}
