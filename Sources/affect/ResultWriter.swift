import AffectCore
import AffectPipeline
import Foundation

/// Writes frame results and moments as they arrive, possibly from a worker thread, and keeps the
/// totals for the run summary. The first write error is kept and reported after the run.
// The files, the encoder and the totals are used only under `lock`.
final class ResultWriter: @unchecked Sendable {
    private let lock = NSLock()
    private let output: OutputFile
    private let moments: OutputFile?
    private let format: ResultFormat
    private let encoder = JSONEncoder()
    private var failure: (any Error)?
    private var analysed = 0, faces = 0, single = 0, momentCount = 0
    private var sums = [Double](repeating: 0, count: Emotion.allCases.count)

    init(output: OutputFile, moments: OutputFile?, format: ResultFormat) throws {
        self.output = output
        self.moments = moments
        self.format = format
        encoder.outputFormatting = [.sortedKeys]
        if let header = format.header { try output.writeLine(header) }
    }

    func write(_ frame: FrameResult) {
        lock.withLock {
            analysed += 1
            faces += frame.faces.count
            if frame.faces.count == 1 { single += 1 }
            for face in frame.faces {
                for emotion in Emotion.allCases { sums[emotion.index] += face.emotions[emotion] }
            }
            guard failure == nil else { return }
            do {
                for line in try format.lines(for: frame) { try output.writeLine(line) }
            } catch {
                failure = error
            }
        }
    }

    func write(_ moment: Moment) {
        lock.withLock {
            momentCount += 1
            guard failure == nil, let moments else { return }
            do {
                try moments.writeLine(String(decoding: try encoder.encode(moment), as: UTF8.self))
            } catch {
                failure = error
            }
        }
    }

    /// Closes the files; throws the first write error, if any.
    func finish() throws {
        try lock.withLock {
            if let failure { throw failure }
            try output.close()
            try moments?.close()
        }
    }

    /// The summary of a live-engine run, from its report and what was written.
    func summary(input: String, report: LiveEngine.Report, detector: String) -> AnalysisSummary {
        lock.withLock {
            AnalysisSummary(input: input, framesRead: report.framesReceived, framesAnalysed: analysed, faces: faces,
                            framesWithOneFace: single, meanEmotions: EmotionDistribution(scores: sums),
                            elapsedSeconds: report.seconds,
                            analysedFramesPerSecond: report.seconds > 0 ? Double(analysed) / report.seconds : 0,
                            detector: detector, tracks: report.perStream.first?.tracks,
                            moments: report.perStream.first?.tracks == nil ? nil : momentCount,
                            triggers: report.perStream.first?.triggers,
                            latency: report.latency, dropped: report.dropped, ladderSteps: report.ladderSteps.count)
        }
    }
}
