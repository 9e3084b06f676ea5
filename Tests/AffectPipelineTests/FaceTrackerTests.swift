import AffectCore
import AffectPipeline
import Testing

@Suite struct FaceTrackerTests {
    func box(_ x: Double, _ y: Double = 0, size: Double = 100) -> Box {
        Box(x: x, y: y, width: size, height: size)
    }

    @Test func slowlyMovingFacesKeepTheirIds() {
        var tracker = FaceTracker()
        var ids: [[Int]] = []
        for step in 0..<10 {
            let shift = Double(step) * 5
            ids.append(tracker.update(boxes: [box(0 + shift), box(300 - shift)], landmarks: [[], []],
                                      at: Double(step) * 100).assignments)
        }
        #expect(Set(ids.map { $0 }) == [[1, 2]])
    }

    @Test func orderOfDetectionsDoesNotMatter() {
        var tracker = FaceTracker()
        _ = tracker.update(boxes: [box(0), box(300)], landmarks: [[], []], at: 0)
        let swapped = tracker.update(boxes: [box(302), box(3)], landmarks: [[], []], at: 100)
        #expect(swapped.assignments == [2, 1])
    }

    @Test func faceGoneLongerThanTheExpiryGetsANewId() {
        var tracker = FaceTracker(configuration: .init(expiryMilliseconds: 1000))
        #expect(tracker.update(boxes: [box(0)], landmarks: [[]], at: 0).started == [1])
        let absent = tracker.update(boxes: [], landmarks: [], at: 500)
        #expect(absent.ended.isEmpty, "a short gap keeps the track")
        #expect(tracker.update(boxes: [box(0)], landmarks: [[]], at: 900).assignments == [1])
        let gone = tracker.update(boxes: [], landmarks: [], at: 2000)
        #expect(gone.ended == [1])
        let back = tracker.update(boxes: [box(0)], landmarks: [[]], at: 2100)
        #expect(back.assignments == [2] && back.started == [2])
    }

    @Test func landmarksMatchWhenTheBoxJumps() {
        var tracker = FaceTracker()
        let eyes = [Point(x: 30, y: 40), Point(x: 70, y: 40)]
        _ = tracker.update(boxes: [box(0)], landmarks: [eyes], at: 0)
        // Same landmarks, box re-estimated much smaller (IoU 0.16): still the same face.
        let update = tracker.update(boxes: [Box(x: 25, y: 25, width: 40, height: 40)], landmarks: [eyes], at: 100)
        #expect(update.assignments == [1])
    }

    @Test func distantFaceStartsANewTrack() {
        var tracker = FaceTracker()
        _ = tracker.update(boxes: [box(0)], landmarks: [[]], at: 0)
        #expect(tracker.update(boxes: [box(500)], landmarks: [[]], at: 100).assignments == [2])
        #expect(tracker.finish().sorted() == [1, 2])
    }
}

@Suite struct SmoothingAndMomentTests {
    func distribution(happy: Double) -> EmotionDistribution {
        EmotionDistribution(scores: [0, 0, 0, happy, 0, 0, 1 - happy]) ?? .uniform
    }

    @Test func halfLifeHalvesThePast() {
        var smoothing = ExponentialSmoothing(halfLifeMilliseconds: 500)
        _ = smoothing.update(distribution(happy: 0), at: 0)
        let after = smoothing.update(distribution(happy: 1), at: 500)
        #expect(abs(after[.happy] - 0.5) < 1e-12)
        let later = smoothing.update(distribution(happy: 1), at: 1500)
        #expect(abs(later[.happy] - (1 - 0.5 * 0.25)) < 1e-12)
    }

    @Test func zeroHalfLifeFollowsTheInput() {
        var smoothing = ExponentialSmoothing(halfLifeMilliseconds: 0)
        _ = smoothing.update(distribution(happy: 0), at: 0)
        #expect(smoothing.update(distribution(happy: 0.8), at: 10)[.happy] == 0.8)
    }

    @Test func momentHasOnsetPeakAndEnd() {
        var detector = MomentDetector(threshold: 0.6, minimumDurationMilliseconds: 500)
        let series: [(Double, Double)] = [(0, 0.2), (100, 0.7), (300, 0.9), (500, 0.8), (700, 0.65), (800, 0.3)]
        var moments: [Moment] = []
        for (time, happy) in series { moments += detector.observe(track: 7, smoothed: distribution(happy: happy), at: time) }
        #expect(moments == [Moment(track: 7, emotion: .happy, onsetMilliseconds: 100, peakMilliseconds: 300, peak: 0.9,
                                   endMilliseconds: 800)])
    }

    @Test func briefPeaksAndNeutralAreNotMoments() {
        var detector = MomentDetector(threshold: 0.6, minimumDurationMilliseconds: 500)
        var moments: [Moment] = []
        for (time, happy) in [(0.0, 0.9), (200.0, 0.1), (300.0, 0.1)] {
            moments += detector.observe(track: 1, smoothed: distribution(happy: happy), at: time)
        }
        #expect(moments.isEmpty, "200 ms above the threshold is too short; neutral at 0.9 is ignored")
    }

    @Test func endingATrackClosesItsMoments() {
        var detector = MomentDetector(threshold: 0.6, minimumDurationMilliseconds: 500)
        for time in stride(from: 0.0, through: 1000, by: 100) {
            _ = detector.observe(track: 3, smoothed: distribution(happy: 0.9), at: time)
        }
        #expect(detector.end(track: 3).map(\.durationMilliseconds) == [1000])
        #expect(detector.end(track: 3).isEmpty)
    }
}
