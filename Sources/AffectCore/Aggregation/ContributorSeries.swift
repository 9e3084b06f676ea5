/// One contributor's stored records (a participant's, or a live session's), gathered per bin of
/// stimulus time: the contributor-level values every audience estimate is a mean of. Averaging
/// within each contributor first makes the contributor, not the frame, the unit of every mean,
/// interval and test: frames of one face are strongly correlated.
public struct ContributorSeries: Sendable {
    public struct Cell: Sendable {
        var sums = [Double](repeating: 0, count: Emotion.allCases.count)
        var counts = [Int](repeating: 0, count: Emotion.allCases.count)
        var valence = 0.0
        var arousal = 0.0
        var emotionRecords = 0
        /// Analysed frames, and those with a face looking roughly at the camera (``HeadPose``; any face
        /// where the pose is unknown): fractions where a window spans several bins.
        var frames = 0.0
        var framesEngaged = 0.0
        /// The landmark stage's measures of the cell's faces (whole windows for aggregate rows: a window's
        /// means hold in each of its bins), and the blinks that ended in the bin (a window's spread).
        var measures = MeasureSummary()
        var blinks = 0.0

        public init() {}
    }

    public let binMilliseconds: Double
    private var cells: [Int: Cell] = [:]
    /// Frames with a face row, and those with a frontal one, per bin (individual mode stores faces,
    /// and faceless frames apart).
    private var faceFrames: [Int: Set<Int>] = [:]
    private var engagedFrames: [Int: Set<Int>] = [:]

    public init(binMilliseconds: Double) {
        self.binMilliseconds = binMilliseconds
    }

    private func bin(_ time: Double) -> Int { Int((max(0, time) / binMilliseconds).rounded(.down)) }

    /// Adds a record of one of the contributor's recordings (`recording` keeps frame numbers of two
    /// viewings apart).
    public mutating func add(_ record: MinimisedRecord, recording session: Int = 0) {
        switch record {
        case .face(let row):
            add(row.emotions, bin: bin(row.timeMilliseconds))
            // Frames of different sessions must not collide: a participant may watch twice.
            faceFrames[bin(row.timeMilliseconds), default: []].insert(session << 32 | row.frame)
            if row.frontal != false { engagedFrames[bin(row.timeMilliseconds), default: []].insert(session << 32 | row.frame) }
            if let measures = row.measures {
                cells[bin(row.timeMilliseconds), default: Cell()].measures.add(measures, blink: row.blink)
                if row.blink != nil { cells[bin(row.timeMilliseconds), default: Cell()].blinks += 1 }
            }
        case .noFace(let row):
            cells[bin(row.timeMilliseconds), default: Cell()].frames += 1
        case .group(let row):
            let index = bin(row.timeMilliseconds)
            cells[index, default: Cell()].frames += 1
            if (row.frontalFaces ?? row.faces) > 0 { cells[index, default: Cell()].framesEngaged += 1 }
            if let emotions = row.emotions { add(emotions, bin: index) }
            if let measures = row.measures {
                cells[index, default: Cell()].measures = cells[index, default: Cell()].measures + measures
                cells[index, default: Cell()].blinks += Double(measures.blinks)
            }
        case .window(let row):
            // A window covers [start, end): its counts are spread evenly over its bins.
            let first = bin(row.startMilliseconds), last = max(first, bin(row.endMilliseconds - 1e-6))
            let share = 1 / Double(last - first + 1)
            for index in first...last {
                cells[index, default: Cell()].frames += Double(row.frames) * share
                cells[index, default: Cell()].framesEngaged += Double(row.framesWithFrontalFace ?? row.framesWithFace) * share
                if let emotions = row.emotions { add(emotions, bin: index) }
                if let measures = row.measures {
                    cells[index, default: Cell()].measures = cells[index, default: Cell()].measures + measures
                    cells[index, default: Cell()].blinks += Double(measures.blinks) * share
                }
            }
        case .moment:
            break
        }
    }

    private mutating func add(_ emotions: ReportedEmotions, bin index: Int) {
        var cell = cells[index] ?? Cell()
        for (slot, probability) in emotions.probabilities.enumerated() {
            guard let probability else { continue }
            cell.sums[slot] += probability
            cell.counts[slot] += 1
        }
        let point = Circumplex(emotions)
        cell.valence += point.valence
        cell.arousal += point.arousal
        cell.emotionRecords += 1
        cells[index] = cell
    }

    /// The cells by bin index, with the frames that had face rows counted in.
    public var finished: [Int: Cell] {
        var result = cells
        for (index, frames) in faceFrames { result[index, default: Cell()].frames += Double(frames.count) }
        for (index, frames) in engagedFrames { result[index, default: Cell()].framesEngaged += Double(frames.count) }
        return result
    }
}

extension ContributorSeries.Cell {
    /// The mean probability of the expression in `Emotion.allCases` slot `slot`, if reported.
    public func expression(_ slot: Int) -> Double? { counts[slot] > 0 ? sums[slot] / Double(counts[slot]) : nil }
    public var meanValence: Double? { emotionRecords > 0 ? valence / Double(emotionRecords) : nil }
    public var meanArousal: Double? { emotionRecords > 0 ? arousal / Double(emotionRecords) : nil }
    /// The share of analysed frames with an engaged face: attending (``Attention``) where the study
    /// measures faces, else looking roughly at the camera.
    public var engagement: Double? { frames > 0 ? min(1, framesEngaged / frames) : nil }
    /// The share of analysed frames with an attending face; nil without measures.
    public var attention: Double? { measures.faces > 0 ? engagement : nil }
    /// The mean of one measure over the cell's measured faces.
    public func measure(_ name: MeasureSummary.Name) -> Double? { measures.mean(name) }
    /// Blinks per minute of the bin; nil without measures, and nil when fewer than
    /// ``minimumFramesPerSecondForBlinks`` frames a second were analysed (a blink fits between two
    /// sparser frames, so a rate would read low, not unknown).
    public func blinkRate(binMilliseconds: Double) -> Double? {
        guard measures.faces > 0, binMilliseconds > 0,
              frames / (binMilliseconds / 1000) >= Self.minimumFramesPerSecondForBlinks else { return nil }
        return blinks / (binMilliseconds / 60_000)
    }

    /// Analysed frames per second below which blinks go unseen (``BlinkDetector`` needs samples at most
    /// 100 ms apart).
    public static let minimumFramesPerSecondForBlinks = 10.0

    /// Two cells pooled, as if one.
    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        for slot in sum.sums.indices {
            sum.sums[slot] += rhs.sums[slot]
            sum.counts[slot] += rhs.counts[slot]
        }
        sum.valence += rhs.valence
        sum.arousal += rhs.arousal
        sum.emotionRecords += rhs.emotionRecords
        sum.frames += rhs.frames
        sum.framesEngaged += rhs.framesEngaged
        sum.measures = sum.measures + rhs.measures
        sum.blinks += rhs.blinks
        return sum
    }
}
