/// Removes overlapping duplicate detections.
public enum NonMaximumSuppression {
    /// Greedy hard suppression: keeps the best candidate, drops every other one
    /// overlapping it by more than `iouThreshold`, and repeats.
    public static func hard(_ candidates: [FaceCandidate], iouThreshold: Double) -> [FaceCandidate] {
        var remaining = candidates.sorted { $0.score > $1.score }
        var kept: [FaceCandidate] = []
        while let best = remaining.first {
            kept.append(best)
            remaining = remaining.dropFirst().filter { $0.box.iou(best.box) <= iouThreshold }
        }
        return kept
    }

    /// MediaPipe's weighted suppression: each kept face is the score-weighted
    /// mean of the candidates that overlap the best one, which steadies boxes
    /// and landmarks from anchor-based detectors such as BlazeFace.
    public static func weighted(_ candidates: [FaceCandidate], iouThreshold: Double) -> [FaceCandidate] {
        var remaining = candidates.sorted { $0.score > $1.score }
        var kept: [FaceCandidate] = []
        while let best = remaining.first {
            // The best is taken out by position, not by overlapping itself: a box with no area overlaps
            // nothing, and would otherwise stay first for ever.
            let rest = remaining.dropFirst()
            let cluster = [best] + rest.filter { $0.box.iou(best.box) > iouThreshold }
            remaining = rest.filter { $0.box.iou(best.box) <= iouThreshold }
            let total = cluster.reduce(0) { $0 + $1.score }
            guard cluster.count > 1, total > 0 else {
                kept.append(best)
                continue
            }
            func mean(_ value: (FaceCandidate) -> Double) -> Double {
                cluster.reduce(0) { $0 + value($1) * $1.score } / total
            }
            let box = Box(minX: mean { $0.box.x }, minY: mean { $0.box.y }, maxX: mean { $0.box.maxX }, maxY: mean { $0.box.maxY })
            let landmarks = best.landmarks.indices.map { index in
                Point(x: mean { $0.landmarks[index].x }, y: mean { $0.landmarks[index].y })
            }
            kept.append(FaceCandidate(box: box, score: best.score, landmarks: landmarks))
        }
        return kept
    }
}
