import AffectCore
import Foundation

/// The text messages a page doing device analysis sends over its capture socket: parsed and checked
/// here, beside the checks' limits, and encoded here for `affect bench --device` and the tests, so
/// the two cannot drift. (The page's own encoder is `participant.js`.)
///
/// First, once: `{"type": "device", "build": "simd"|"scalar", "kernel_sha256": ..., "detector_sha256": ...,
/// "classifier_sha256": ...}`: the hashes of what the page runs, which must be what this server serves.
///
/// Then, batched: `{"type": "results", "frames": [{"t_ms": 1480, "width": 640, "height": 480,
/// "cost_ms": 11.5, "faces": [{"box": [x, y, w, h], "score": 0.97, "probabilities": [7 numbers]}]}]}`:
/// per analysed frame its stimulus time, the camera frame's size, what the analysis cost the device,
/// and each face with its box as fractions of the frame, the detector's score and the classifier's raw
/// probabilities in the model's order (angry, disgust, fear, happy, sad, surprise, neutral).
public enum DeviceMessage {
    public struct Hello: Codable, Sendable {
        var type = "device"
        public var build: String
        public var kernelSha256: String
        public var detectorSha256: String
        public var classifierSha256: String

        public init(build: String, kernelSha256: String, detectorSha256: String, classifierSha256: String) {
            self.build = build
            self.kernelSha256 = kernelSha256
            self.detectorSha256 = detectorSha256
            self.classifierSha256 = classifierSha256
        }
    }

    public struct Results: Codable, Sendable {
        var type = "results"
        public var frames: [Frame]

        public init(frames: [Frame]) {
            self.frames = frames
        }
    }

    public struct Frame: Codable, Sendable {
        public var tMs: Double
        public var width: Int
        public var height: Int
        public var costMs: Double?
        public var faces: [Face]

        public init(tMs: Double, width: Int, height: Int, costMs: Double?, faces: [Face]) {
            self.tMs = tMs
            self.width = width
            self.height = height
            self.costMs = costMs
            self.faces = faces
        }
    }

    public struct Face: Codable, Sendable {
        /// As fractions of the frame (written `[x, y, width, height]`, as every Affect box).
        public var box: Box
        public var score: Double
        /// Raw, in the model's order (``Emotion/allCases``).
        public var probabilities: [Double]

        public init(box: Box, score: Double, probabilities: [Double]) {
            self.box = box
            self.score = score
            self.probabilities = probabilities
        }
    }

    /// A message as a page sends it.
    public static func encode(_ message: some Encodable) throws -> String {
        String(decoding: try AffectJSON.encoder().encode(message), as: UTF8.self)
    }

    /// The most of each a message may hold.
    enum Limit {
        /// Bytes of one text message (30 frames of 4 faces take about 12 KB).
        static let messageBytes = 64 * 1024
        static let framesPerMessage = 60
        static let facesPerFrame = 16
        static let frameSide = 1...8192
        /// Analysed frames a second a device session may send, sustained (what a study may ask at most).
        static let framesPerSecond = 30.0
        /// How far the probabilities may sum from 1 (float rounding in the page is about 1e-7).
        static let sumTolerance = 1e-3
        /// How far ahead of the time since the session started a stimulus time may be (clock skew, a
        /// stimulus that started a moment early).
        static let futureSlackMilliseconds = 2000.0
    }

    /// Why a device message is refused: the socket closes with `code` and `description`, and
    /// `affect_device_results_refused_total{reason}` counts it by `reason`.
    enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not JSON, or not the shape above.
        case malformed(String)
        /// A value out of its range: sizes, boxes, scores, probabilities that do not sum to 1, NaN.
        case invalid(String)
        /// A stimulus time not after the last one, or ahead of the session's clock.
        case time(String)
        /// The page runs other files than this server serves.
        case hashes
        /// Results before the page said what it runs.
        case noHello
        /// More frames per second than device analysis may send.
        case tooFast(Double)
        /// Over the message size limit.
        case tooLarge

        var reason: String {
            switch self {
            case .malformed: "malformed"
            case .invalid: "invalid"
            case .time: "time"
            case .hashes: "hashes"
            case .noHello: "no_hello"
            case .tooFast: "rate"
            case .tooLarge: "bytes"
            }
        }

        static let reasons = ["malformed", "invalid", "time", "hashes", "no_hello", "rate", "bytes"]

        var description: String {
            switch self {
            case .malformed(let what): "malformed device message: \(what)"
            case .invalid(let what): "invalid device result: \(what)"
            case .time(let what): "device result out of time: \(what)"
            case .hashes: "the page's analysis files are not the ones this server serves; reload the page"
            case .noHello: "results came before the page said what it analyses with"
            case .tooFast(let limit): "more than \(Int(limit)) analysed frames per second"
            case .tooLarge: "a device message over \(Limit.messageBytes / 1024) KB"
            }
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(Refusal) -> T {
        guard text.utf8.count <= Limit.messageBytes else { throw .tooLarge }
        do {
            return try AffectJSON.decoder().decode(type, from: Data(text.utf8))
        } catch {
            throw .malformed("not a \(type == Hello.self ? "device" : "results") message of the documented shape")
        }
    }

    /// Checks one frame's values (not its time: ``DeviceAnalysis`` knows the session's clock).
    static func check(_ frame: Frame) throws(Refusal) {
        guard frame.tMs.isFinite, frame.tMs >= 0 else { throw .time("a stimulus time is not a number of milliseconds") }
        guard Limit.frameSide.contains(frame.width), Limit.frameSide.contains(frame.height) else {
            throw .invalid("a frame size outside 1 to 8192 pixels a side")
        }
        if let cost = frame.costMs, !(cost.isFinite && cost >= 0 && cost < 60_000) { throw .invalid("a frame's cost is out of range") }
        guard frame.faces.count <= Limit.facesPerFrame else { throw .invalid("more than \(Limit.facesPerFrame) faces in a frame") }
        for face in frame.faces {
            let (x, y, w, h) = (face.box.x, face.box.y, face.box.width, face.box.height)
            guard [x, y, w, h].allSatisfy(\.isFinite) else { throw .invalid("a box is not four numbers") }
            // Fractions of the frame, clipped to it by the page as the server clips its own.
            guard x >= 0, y >= 0, w > 0, h > 0, x + w <= 1 + 1e-9, y + h <= 1 + 1e-9 else {
                throw .invalid("a box is outside its frame")
            }
            guard face.score.isFinite, (0...1).contains(face.score) else { throw .invalid("a detector score is outside 0 to 1") }
            guard face.probabilities.count == Emotion.allCases.count else {
                throw .invalid("probabilities are not \(Emotion.allCases.count) numbers")
            }
            guard face.probabilities.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
                throw .invalid("a probability is outside 0 to 1")
            }
            let sum = face.probabilities.reduce(0, +)
            guard abs(sum - 1) <= Limit.sumTolerance else { throw .invalid("probabilities sum to \(sum), not 1") }
        }
    }
}
