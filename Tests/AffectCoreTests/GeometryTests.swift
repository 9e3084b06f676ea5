import AffectCore
import Testing

@Suite struct GeometryTests {
    @Test func intersectionOverUnion() {
        let a = Box(x: 0, y: 0, width: 10, height: 10)
        #expect(a.iou(a) == 1)
        #expect(a.iou(Box(x: 5, y: 0, width: 10, height: 10)) == 50.0 / 150.0)
        #expect(a.iou(Box(x: 20, y: 20, width: 5, height: 5)) == 0)
        #expect(a.iou(Box(x: 10, y: 0, width: 10, height: 10)) == 0, "touching edges do not overlap")
    }

    @Test func clippingKeepsBoxesInsideTheImage() {
        let box = Box(x: -5, y: 90, width: 20, height: 20).clipped(width: 100, height: 100)
        #expect(box == Box(x: 0, y: 90, width: 15, height: 10))
    }

    @Test func hardSuppressionKeepsTheBestOfEachCluster() {
        let candidates = [
            FaceCandidate(box: Box(x: 0, y: 0, width: 10, height: 10), score: 0.6, landmarks: []),
            FaceCandidate(box: Box(x: 1, y: 1, width: 10, height: 10), score: 0.9, landmarks: []),
            FaceCandidate(box: Box(x: 50, y: 50, width: 10, height: 10), score: 0.7, landmarks: []),
        ]
        let kept = NonMaximumSuppression.hard(candidates, iouThreshold: 0.3)
        #expect(kept.map(\.score) == [0.9, 0.7])
    }

    @Test func weightedSuppressionAveragesTheCluster() {
        let candidates = [
            FaceCandidate(box: Box(x: 0, y: 0, width: 10, height: 10), score: 0.75,
                          landmarks: [Point(x: 2, y: 2)]),
            FaceCandidate(box: Box(x: 2, y: 0, width: 10, height: 10), score: 0.25,
                          landmarks: [Point(x: 6, y: 2)]),
        ]
        let kept = NonMaximumSuppression.weighted(candidates, iouThreshold: 0.3)
        #expect(kept.count == 1)
        #expect(abs(kept[0].box.x - 0.5) < 1e-12)
        #expect(abs(kept[0].landmarks[0].x - 3) < 1e-12)
        #expect(kept[0].score == 0.75)
    }

    /// A candidate with no area overlaps nothing, not even itself: suppression still moves past it
    /// (it once kept it first for ever, hanging the frame's analysis).
    @Test func suppressionEndsWithBoxesWithoutArea() {
        let candidates = [
            FaceCandidate(box: Box(x: 5, y: 5, width: 0, height: 10), score: 0.9, landmarks: []),
            FaceCandidate(box: Box(x: 5, y: 5, width: -3, height: 10), score: 0.8, landmarks: []),
            FaceCandidate(box: Box(x: 0, y: 0, width: 10, height: 10), score: 0.7, landmarks: []),
        ]
        #expect(NonMaximumSuppression.weighted(candidates, iouThreshold: 0.3).map(\.score) == [0.9, 0.8, 0.7])
        #expect(NonMaximumSuppression.hard(candidates, iouThreshold: 0.3).map(\.score) == [0.9, 0.8, 0.7])
    }
}
