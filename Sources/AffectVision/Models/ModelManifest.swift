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

        enum CodingKeys: String, CodingKey {
            case name, role, file, sha256, converter, input, classes, licence, source
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
