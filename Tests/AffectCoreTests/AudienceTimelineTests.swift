import AffectCore
import Testing

@Suite struct AudienceTimelineTests {
    static func emotions(_ values: [Double?]) -> ReportedEmotions {
        ReportedEmotions(probabilities: values)!
    }

    @Test func binsAreMeansOverRecordsWithTheirSessions() {
        var timeline = AudienceTimeline(binMilliseconds: 500)
        let happy = Self.emotions([0, 0, 0, 1, 0, 0, 0])
        let neutral = Self.emotions([0, 0, 0, 0, 0, 0, 1])
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 100, track: nil, emotions: happy)), contributor: "a")
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 400, track: nil, emotions: neutral)), contributor: "b")
        timeline.add(.face(FaceRow(frame: 1, timeMilliseconds: 600, track: nil, emotions: happy)), contributor: "a")
        let points = timeline.points
        #expect(points.map(\.timeMilliseconds) == [0, 500])
        #expect(points[0].contributors == 2 && points[1].contributors == 1)
        #expect(points[0].means[Emotion.happy.index] == 0.5 && points[0].means[Emotion.neutral.index] == 0.5)
        // Happy sits at 20 degrees on the circumplex: valence cos(20°); neutral at the origin.
        #expect(abs((points[0].valence ?? 0) - 0.5 * 0.9396926) < 1e-6)
    }

    @Test func optedOutExpressionsAreAbsentNotZero() {
        var timeline = AudienceTimeline(binMilliseconds: 1000)
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 0, track: nil, emotions: Self.emotions([0.2, 0, 0, 0.8, 0, 0, 0]))), contributor: "a")
        timeline.add(.face(FaceRow(frame: 0, timeMilliseconds: 10, track: nil, emotions: Self.emotions([nil, 0, 0, 1, 0, 0, 0]))), contributor: "b")
        let point = timeline.points[0]
        #expect(point.means[Emotion.angry.index] == 0.2, "only the session that reports anger counts for it")
        #expect(point.means[Emotion.happy.index] == 0.9)
    }

    @Test func windowsCountInEveryBinTheyCoverAndMomentsInNone() {
        var timeline = AudienceTimeline(binMilliseconds: 500)
        let window = WindowAggregateRow(startMilliseconds: 0, endMilliseconds: 1500, frames: 10, framesWithFace: 9,
                                        emotions: Self.emotions([0, 0, 0, 0, 1, 0, 0]))
        timeline.add(.window(window), contributor: "a")
        timeline.add(.group(GroupFrameRow(frame: 0, timeMilliseconds: 200, faces: 0, emotions: nil)), contributor: "b")
        #expect(timeline.points.map(\.timeMilliseconds) == [0, 500, 1000], "[0, 1500) ends before the 1500 bin")
        #expect(timeline.points.allSatisfy { $0.contributors == 1 }, "a frame without a face adds nothing")
    }
}
