import AffectCore
import AffectVision

/// Totals for one run over a source.
public struct AnalysisSummary: Sendable, Codable, Hashable {
    public var input: String
    public var framesRead: Int
    public var framesAnalysed: Int
    /// Faces summed over analysed frames.
    public var faces: Int
    /// Analysed frames with exactly one face.
    public var framesWithOneFace: Int
    /// Mean expression distribution over every face of every analysed frame; nil when no face was found.
    public var meanEmotions: EmotionDistribution?
    public var elapsedSeconds: Double
    /// Analysed frames per second of wall time.
    public var analysedFramesPerSecond: Double
    public var detector: String

    enum CodingKeys: String, CodingKey {
        case input, faces, detector
        case framesRead = "frames_read"
        case framesAnalysed = "frames_analysed"
        case framesWithOneFace = "frames_with_one_face"
        case meanEmotions = "mean_emotions"
        case elapsedSeconds = "elapsed_s"
        case analysedFramesPerSecond = "fps"
    }
}

/// Reads a source, samples it, analyses the sampled frames in order and hands each result to a sink.
///
/// The data flows one way: source → sampler → analyzer → sink. Frames exist
/// only in memory for the time of their analysis.
public struct AnalysisRun {
    public var sampler: FrameSampler
    public let analyzer: FrameAnalyzer

    public init(policy: SamplingPolicy, analyzer: FrameAnalyzer) {
        sampler = FrameSampler(policy: policy)
        self.analyzer = analyzer
    }

    /// Runs to the end of the source.
    /// - Parameters:
    ///   - sink: receives every frame result in order; a thrown error stops the run.
    ///   - progress: called after every frame read with (frames read, frames declared by the source).
    public mutating func run(source: any FrameSource, sink: (FrameResult) throws -> Void,
                             progress: ((Int, Int?) -> Void)? = nil) throws -> AnalysisSummary {
        let start = ContinuousClock.now
        var read = 0, analysed = 0, faceCount = 0, single = 0
        var sums = [Double](repeating: 0, count: Emotion.allCases.count)
        while let stamp = try source.advance() {
            read += 1
            if sampler.shouldSample(timeMilliseconds: stamp.timeMilliseconds) {
                let faces = try analyzer.analyze(source.currentImage())
                analysed += 1
                faceCount += faces.count
                if faces.count == 1 { single += 1 }
                for face in faces {
                    for emotion in Emotion.allCases { sums[emotion.index] += face.emotions[emotion] }
                }
                try sink(FrameResult(frame: stamp.index, timeMilliseconds: stamp.timeMilliseconds, faces: faces))
            }
            progress?(read, source.declaredFrameCount)
        }
        let elapsed = milliseconds(start.duration(to: .now)) / 1000
        return AnalysisSummary(input: source.name, framesRead: read, framesAnalysed: analysed, faces: faceCount,
                               framesWithOneFace: single, meanEmotions: EmotionDistribution(scores: sums),
                               elapsedSeconds: elapsed,
                               analysedFramesPerSecond: elapsed > 0 ? Double(analysed) / elapsed : 0,
                               detector: analyzer.detector.name)
    }
}
