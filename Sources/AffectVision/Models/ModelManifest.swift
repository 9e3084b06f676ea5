/// `models/manifest.json` as scripts/models/build_models.py writes it: where
/// each model came from, its SHA-256, and how to feed it.
public struct ModelManifest: Codable, Sendable, Hashable {
    public struct Input: Codable, Sendable, Hashable {
        public var width: Int
        public var height: Int
        public var channels: Int
        public var layout: String
        public var colour: String
        public var normalisation: String
        public var scale: Double
        public var offset: Double
    }

    public struct Source: Codable, Sendable, Hashable {
        public var package: String
        public var wheel: String
        public var wheelSHA256: String
        public var member: String
        public var memberSHA256: String

        enum CodingKeys: String, CodingKey {
            case package, wheel, member
            case wheelSHA256 = "wheel_sha256"
            case memberSHA256 = "member_sha256"
        }
    }

    /// How a classifier's probabilities are calibrated, and on what data that was fitted.
    public struct Calibration: Codable, Sendable, Hashable {
        /// "temperature" (the only method so far).
        public var method: String
        public var temperature: Double
        /// The classifier setting it was fitted for: with or without mirror averaging.
        public var flipAveraging: Bool
        /// The images it was fitted on, in words a reader can reproduce.
        public var fittedOn: String
        /// The classifier settings it was fitted for.
        public var settings: String
        /// Expected calibration error on the held-out half, before and after.
        public var heldOutECEBefore: Double
        public var heldOutECEAfter: Double
        /// The command that fits it again.
        public var command: String

        enum CodingKeys: String, CodingKey {
            case method, temperature, settings, command
            case flipAveraging = "flip_averaging"
            case fittedOn = "fitted_on"
            case heldOutECEBefore = "held_out_ece_before"
            case heldOutECEAfter = "held_out_ece_after"
        }
    }

    /// A model as a program for the inference kernel (scripts/models/kernel_program.py): what a
    /// participant's browser runs in device analysis.
    public struct KernelProgram: Codable, Sendable, Hashable {
        public var file: String
        public var sha256: String
        public var converter: String
        /// Operations by kind, as the converter emitted them (Relu fused, reshapes as aliases).
        public var operations: [String: Int]
        public var arenaFloats: Int
        public var weights: Int

        enum CodingKeys: String, CodingKey {
            case file, sha256, converter, operations, weights
            case arenaFloats = "arena_floats"
        }
    }

    public struct Model: Codable, Sendable, Hashable {
        public var name: String
        public var role: String
        public var file: String
        public var sha256: String
        public var converter: String
        public var input: Input
        public var classes: [String]
        public var licence: String
        public var trainingData: String
        public var source: Source
        /// For classifiers whose probabilities are calibrated by default: one per setting.
        public var calibration: [Calibration]?
        /// For the models participants' browsers run: the same network for the inference kernel.
        public var kernel: KernelProgram?

        enum CodingKeys: String, CodingKey {
            case name, role, file, sha256, converter, input, classes, licence, source, calibration, kernel
            case trainingData = "training_data"
        }
    }

    public var format: Int
    public var models: [Model]

    /// The entry for a model name, if the manifest has one.
    public func model(named name: String) -> Model? {
        models.first { $0.name == name }
    }
}
