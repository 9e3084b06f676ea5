/// Turns frame results into the records a study's mode allows, dropping everything else.
///
/// This is the last stage before storage. In ``ProcessingMode/aggregate`` it holds one
/// window's running sums in memory and emits the window when a frame past its end arrives
/// (or at ``finish()``): per-frame scores never leave it.
public struct ResultMinimiser: Sendable {
    public let mode: ProcessingMode
    public let excluded: Set<Emotion>
    public let windowMilliseconds: Double
    private var window: WindowSums?

    private struct WindowSums {
        var start: Double
        var frames = 0
        var framesWithFace = 0
        var framesWithFrontalFace = 0
        var faces = 0
        var sums = [Double](repeating: 0, count: Emotion.allCases.count)
        var measures: MeasureSummary?
    }

    public init(mode: ProcessingMode, excluded: Set<Emotion> = [],
                windowMilliseconds: Double = ProcessingMode.defaultWindowMilliseconds) {
        self.mode = mode
        self.excluded = excluded
        self.windowMilliseconds = windowMilliseconds
    }

    /// The records to store for one analysed frame (none while an aggregate window is open).
    public mutating func consume(_ result: FrameResult) -> [MinimisedRecord] {
        switch mode {
        case .individual:
            if result.faces.isEmpty {
                return [.noFace(FacelessFrameRow(frame: result.frame, timeMilliseconds: result.timeMilliseconds))]
            }
            return result.faces.compactMap { face in
                ReportedEmotions(face.emotions, excluding: excluded).map {
                    .face(FaceRow(frame: result.frame, timeMilliseconds: result.timeMilliseconds, track: face.track, emotions: $0,
                                  frontal: Self.engaged(face), measures: face.measures, blink: face.blink))
                }
            }
        case .group:
            let pooled = EmotionDistribution.mean(result.faces.map(\.emotions))
            return [.group(GroupFrameRow(frame: result.frame, timeMilliseconds: result.timeMilliseconds,
                                         faces: result.faces.count,
                                         frontalFaces: result.faces.filter(Self.looksAtCamera).count,
                                         emotions: pooled.flatMap { ReportedEmotions($0, excluding: excluded) },
                                         measures: Self.summary(result.faces)))]
        case .aggregate:
            var emitted: [MinimisedRecord] = []
            // Windows sit on a fixed grid from time 0, so sessions line up window by window.
            let start = (result.timeMilliseconds / windowMilliseconds).rounded(.down) * windowMilliseconds
            if let open = window, open.start != start {
                emitted.append(.window(close(open)))
                window = nil
            }
            var sums = window ?? WindowSums(start: start)
            sums.frames += 1
            if !result.faces.isEmpty { sums.framesWithFace += 1 }
            if result.faces.contains(where: Self.looksAtCamera) { sums.framesWithFrontalFace += 1 }
            for face in result.faces {
                sums.faces += 1
                for emotion in Emotion.allCases { sums.sums[emotion.index] += face.emotions[emotion] }
            }
            if let summary = Self.summary(result.faces) { sums.measures = (sums.measures ?? MeasureSummary()) + summary }
            window = sums
            return emitted
        }
    }

    /// Engagement counts a face unless it shows it is not engaged: with measures, a face that is not
    /// attending (``Attention``); without, one whose landmarks show it turned away. An unknown pose counts.
    static func looksAtCamera(_ face: FaceResult) -> Bool {
        engaged(face) != false
    }

    /// Attending, when the face was measured; else roughly frontal (``HeadPose``); nil when unknown.
    static func engaged(_ face: FaceResult) -> Bool? {
        face.measures.map(\.attending) ?? HeadPose.isRoughlyFrontal(face.landmarks)
    }

    /// The measured faces of a frame pooled; nil when none was measured.
    static func summary(_ faces: [FaceResult]) -> MeasureSummary? {
        var summary = MeasureSummary()
        for face in faces { if let measures = face.measures { summary.add(measures, blink: face.blink) } }
        return summary.faces > 0 ? summary : nil
    }

    /// The record to store for a closed moment, if any.
    ///
    /// Moments are found on the smoothed distribution of all seven expressions, so with any
    /// expression excluded their timing and peak would carry information about the excluded
    /// ones: they are kept only in individual mode and only when nothing is excluded.
    public func consume(moment: Moment) -> [MinimisedRecord] {
        guard mode == .individual, excluded.isEmpty else { return [] }
        return [.moment(moment)]
    }

    /// Emits what is still open (the last aggregate window).
    public mutating func finish() -> [MinimisedRecord] {
        guard let open = window else { return [] }
        window = nil
        return [.window(close(open))]
    }

    private func close(_ sums: WindowSums) -> WindowAggregateRow {
        let mean = sums.faces > 0 ? EmotionDistribution(scores: sums.sums) : nil
        return WindowAggregateRow(startMilliseconds: sums.start, endMilliseconds: sums.start + windowMilliseconds,
                                  frames: sums.frames, framesWithFace: sums.framesWithFace,
                                  framesWithFrontalFace: sums.framesWithFrontalFace,
                                  emotions: mean.flatMap { ReportedEmotions($0, excluding: excluded) }, measures: sums.measures)
    }
}
