import AffectCore
import Foundation
import Testing

@Suite struct AudienceTimelineTests {
    static func emotions(_ values: [Double?]) -> ReportedEmotions {
        ReportedEmotions(probabilities: values)!
    }

    @Test func eachContributorIsAveragedFirstThenTheAudience() throws {
        var timeline = AudienceTimeline(binMilliseconds: 500)
        let happy = Self.emotions([0, 0, 0, 1, 0, 0, 0])
        let neutral = Self.emotions([0, 0, 0, 0, 0, 0, 1])
        // Contributor a has three happy frames in the first bin, b one neutral frame: a frame-level mean
        // would say 0.75 happy; over contributors it is 0.5.
        for frame in 0..<3 {
            timeline.add(.face(FaceRow(frame: frame, timeMilliseconds: Double(frame) * 100, track: nil, emotions: happy)), contributor: "a")
        }
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 400, track: nil, emotions: neutral)), contributor: "b")
        timeline.add(.face(FaceRow(frame: 6, timeMilliseconds: 600, track: nil, emotions: happy)), contributor: "a")
        let bins = timeline.bins
        #expect(bins.map(\.timeMilliseconds) == [0, 500])
        #expect(bins[0].n == 2 && bins[1].n == 1)
        let first = try #require(bins[0].expressions[Emotion.happy.index])
        #expect(first.mean == 0.5 && first.n == 2)
        // Two values 1 and 0: SD 0.707, t(0.975, 1) = 12.706: the interval spans the whole range.
        #expect(first.low == 0 && first.high == 1)
        // Happy sits at 20 degrees on the circumplex: valence cos(20°); neutral at the origin.
        #expect(abs((bins[0].valence?.mean ?? 0) - 0.5 * cos(20 * Double.pi / 180)) < 1e-12)
        #expect(bins[1].expressions[Emotion.happy.index]?.low == nil, "no interval from one contributor")
    }

    @Test func optedOutExpressionsAreAbsentNotZero() throws {
        var timeline = AudienceTimeline(binMilliseconds: 1000)
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 0, track: nil, emotions: Self.emotions([0.2, 0, 0, 0.8, 0, 0, 0]))), contributor: "a")
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 10, track: nil, emotions: Self.emotions([nil, 0, 0, 1, 0, 0, 0]))), contributor: "b")
        let bin = try #require(timeline.bins.first)
        #expect(bin.expressions[Emotion.angry.index]?.mean == 0.2 && bin.expressions[Emotion.angry.index]?.n == 1,
                "only the contributor who reports anger counts for it")
        #expect(bin.expressions[Emotion.happy.index]?.mean == 0.9)
    }

    @Test func headPoseTellsFrontalFacesFromTurnedOnes() {
        let eyes = [Point(x: 40, y: 50), Point(x: 60, y: 50)]
        #expect(HeadPose.yawOffset(eyes + [Point(x: 50, y: 65)]) == 0)
        #expect(HeadPose.isRoughlyFrontal(eyes + [Point(x: 56, y: 65)]) == true, "0.3 inter-eye distances off: still frontal")
        #expect(HeadPose.isRoughlyFrontal(eyes + [Point(x: 60, y: 65)]) == false, "nose under one eye: turned")
        #expect(HeadPose.isRoughlyFrontal([Point(x: 40, y: 50), Point(x: 40, y: 50), Point(x: 50, y: 60)]) == nil)
        #expect(HeadPose.isRoughlyFrontal([]) == nil)
    }

    @Test func engagementCountsFramesWithAFaceLookingAtTheScreen() throws {
        var timeline = AudienceTimeline(binMilliseconds: 1000)
        let happy = Self.emotions([0, 0, 0, 1, 0, 0, 0])
        // Four frames: frontal, turned away, no face, pose unknown (counted as looking).
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 0, track: nil, emotions: happy, frontal: true)), contributor: "a")
        timeline.add(.face(FaceRow(frame: 1, timeMilliseconds: 100, track: nil, emotions: happy, frontal: false)), contributor: "a")
        timeline.add(.noFace(FacelessFrameRow(frame: 2, timeMilliseconds: 200)), contributor: "a")
        timeline.add(.face(FaceRow(frame: 3, timeMilliseconds: 300, track: nil, emotions: happy)), contributor: "a")
        let bin = try #require(timeline.bins.first)
        #expect(bin.engagement?.mean == 0.5)
        #expect(bin.expressions[Emotion.happy.index]?.mean == 1, "a turned face's expression still counts")
    }

    @Test func windowsCountInEveryBinTheyCoverAndSmallBinsCanBeWithheld() {
        var timeline = AudienceTimeline(binMilliseconds: 500)
        let window = WindowAggregateRow(startMilliseconds: 0, endMilliseconds: 1500, frames: 10, framesWithFace: 9,
                                        emotions: Self.emotions([0, 0, 0, 0, 1, 0, 0]))
        timeline.add(.window(window), contributor: "a")
        #expect(timeline.bins.map(\.timeMilliseconds) == [0, 500, 1000], "[0, 1500) ends before the 1500 bin")
        #expect(timeline.bins.allSatisfy { abs(($0.engagement?.mean ?? 0) - 0.9) < 1e-12 }, "9 of 10 frames had a face")
        timeline.add(.group(GroupFrameRow(frame: 0, timeMilliseconds: 200, faces: 0, emotions: nil)), contributor: "b")
        let (kept, withheld) = timeline.bins(minimumContributors: 2)
        #expect(kept.map(\.timeMilliseconds) == [0] && withheld == 2)
        #expect(abs((kept[0].engagement?.mean ?? 0) - 0.45) < 1e-12, "b's frame had no face")
        #expect(kept[0].expressions[Emotion.sad.index]?.n == 1)
    }
}

@Suite struct AudienceMeasuresTests {
    static func row(_ frame: Int, fps: Double, attending: Bool, blink: Bool = false) -> MinimisedRecord {
        let measures = FaceMeasures(headPose: .init(yaw: attending ? 5 : 50, pitch: 0, roll: 0), gaze: .init(yaw: 0, pitch: 0),
                                    eyesOpen: .init(left: 0.9, right: 0.7), mouthOpen: 0.2,
                                    geometry: .init(smile: 0, browRaise: 0.4), attending: attending)
        let emotions = ReportedEmotions(probabilities: [0, 0, 0, 1, 0, 0, 0]) ?? ReportedEmotions(probabilities: [1, 0, 0, 0, 0, 0, 0])!
        return .face(FaceRow(frame: frame, timeMilliseconds: Double(frame) * 1000 / fps, track: 1, emotions: emotions,
                             frontal: attending, measures: measures,
                             blink: blink ? Blink(onsetMilliseconds: 0, durationMilliseconds: 120) : nil))
    }

    /// One second at 25 fps, attending in 20 of 25 frames with one blink; a second contributor at 2 fps.
    @Test func attentionMeansAndBlinkRatesPerContributor() throws {
        var timeline = AudienceTimeline(binMilliseconds: 1000)
        for frame in 0..<25 { timeline.add(Self.row(frame, fps: 25, attending: frame >= 5, blink: frame == 12), contributor: "dense") }
        for frame in 0..<2 { timeline.add(Self.row(frame, fps: 2, attending: true), contributor: "sparse") }
        let bin = try #require(timeline.bins.first)
        #expect(bin.n == 2)
        let attention = try #require(bin.attention)
        #expect(abs(attention.mean - (0.8 + 1) / 2) < 1e-12, "each contributor's share, then the mean")
        #expect(bin.engagement?.mean == attention.mean, "engagement is attention when faces are measured")
        #expect(abs((bin.measures["eyes_open"]?.mean ?? 0) - 0.8) < 1e-12)
        #expect(abs((bin.measures["head_yaw"]?.mean ?? 0) - ((5 * 50 + 20 * 5) / 25.0 + 5) / 2) < 1e-9)
        let rate = try #require(bin.blinkRate)
        #expect(rate.n == 1 && rate.mean == 60, "one blink in one second; the 2 fps contributor has no rate")
    }
}
