import AffectCore
import Foundation

/// MediaPipe's BlazeFace short-range detector (Bazarevsky et al., 2019): a
/// 128x128 single-shot detector with 896 fixed anchors and six landmarks,
/// made for faces at selfie or webcam distance.
public final class BlazeFaceDetector: FaceDetector {
    public let name = DetectorKind.blazeface.rawValue
    /// Candidates whose sigmoid score is below this are dropped (MediaPipe's default is 0.5).
    public var scoreThreshold: Double
    /// Overlap at which candidates are merged by weighted suppression (MediaPipe's 0.3).
    public var iouThreshold: Double

    private let network: Network
    private static let inputSize = 128
    private static let encoding = TensorEncoding(colour: .rgb, scale: 2.0 / 255.0, offset: -1)
    private static let anchors = SSDAnchors.blazeFaceShortRange

    public init(modelPath: String, scoreThreshold: Double = 0.5, iouThreshold: Double = 0.3) throws {
        network = try Network(path: modelPath, name: "blazeface")
        self.scoreThreshold = scoreThreshold
        self.iouThreshold = iouThreshold
        guard Set(network.outputNames) == ["regressors", "classificators"] else {
            throw VisionError.networkLoadFailed(path: modelPath, reason: "unexpected BlazeFace outputs \(network.outputNames)")
        }
    }

    public func detect(in image: Image) throws -> [FaceCandidate] {
        let width = Double(image.width), height = Double(image.height)
        guard width >= 8, height >= 8 else { return [] }
        // Letterbox: the largest centred square that holds the whole image, padded with black.
        let side = max(width, height)
        let square = Box(x: ((width - side) / 2).rounded(), y: ((height - side) / 2).rounded(), width: side, height: side)
        let size = Self.inputSize
        let tensor = try image.tensor(crop: square, width: size, height: size, encoding: Self.encoding)
        let outputs = try network.forward(tensor, shape: (1, 3, size, size))
        guard let regressors = outputs["regressors"], let scores = outputs["classificators"],
              scores.values.count == Self.anchors.count, regressors.values.count == Self.anchors.count * 16 else {
            throw VisionError.inferenceFailed(model: name, reason: "unexpected output shapes")
        }
        let logitLimit = log(scoreThreshold / (1 - scoreThreshold))
        let unit = Double(size)
        var candidates: [FaceCandidate] = []
        for (index, anchor) in Self.anchors.enumerated() {
            let logit = Double(scores.values[index])
            guard logit >= logitLimit else { continue }
            let score = 1 / (1 + exp(-min(max(logit, -100), 100)))
            let raw = regressors.values[(index * 16)..<(index * 16 + 16)].map(Double.init)
            // Offsets are in input pixels relative to the anchor centre; the output is x, y, w, h order.
            func point(_ dx: Double, _ dy: Double) -> Point {
                Point(x: square.x + (anchor.x + dx / unit) * side, y: square.y + (anchor.y + dy / unit) * side)
            }
            let center = point(raw[raw.startIndex], raw[raw.startIndex + 1])
            let boxWidth = raw[raw.startIndex + 2] / unit * side, boxHeight = raw[raw.startIndex + 3] / unit * side
            let box = Box(x: center.x - boxWidth / 2, y: center.y - boxHeight / 2, width: boxWidth, height: boxHeight)
            let landmarks = (0..<6).map { point(raw[raw.startIndex + 4 + 2 * $0], raw[raw.startIndex + 5 + 2 * $0]) }
            candidates.append(FaceCandidate(box: box, score: score, landmarks: landmarks))
        }
        return NonMaximumSuppression.weighted(candidates, iouThreshold: iouThreshold)
            .map { FaceCandidate(box: $0.box.clipped(width: width, height: height), score: $0.score, landmarks: $0.landmarks) }
            .filter { $0.box.area > 0 }
    }
}
