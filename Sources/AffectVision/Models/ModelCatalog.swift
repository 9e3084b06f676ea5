import Crypto
import Foundation

/// The directory of converted models, with every file checked against the
/// manifest's SHA-256 before a network is built from it.
public struct ModelCatalog: Sendable {
    public let directory: String
    public let manifest: ModelManifest

    /// Well-known model names.
    public enum Name {
        public static let emotion = "emotion-mini-xception"
        public static let centerFace = "centerface"
        public static let blazeFace = "blazeface-short-range"
        public static let faceMesh = "facemesh"
        public static let iris = "iris"
    }

    /// Opens the catalogue in `directory`, or finds one: `$AFFECT_MODELS`, then
    /// `./models`, then a `models/` folder beside or above the executable.
    public init(directory: String? = nil) throws {
        let chosen = directory ?? ModelCatalog.defaultDirectory()
        let manifestPath = (chosen as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw VisionError.modelsMissing(directory: chosen)
        }
        do {
            manifest = try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch {
            throw VisionError.manifestInvalid(path: manifestPath, reason: String(describing: error))
        }
        self.directory = chosen
    }

    static func defaultDirectory() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let configured = environment["AFFECT_MODELS"], !configured.isEmpty { return configured }
        var candidates = [FileManager.default.currentDirectoryPath]
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        }
        for _ in 0..<6 {
            candidates.append(folder.path)
            folder.deleteLastPathComponent()
        }
        for candidate in candidates {
            let path = (candidate as NSString).appendingPathComponent("models")
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("manifest.json")) {
                return path
            }
        }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("models")
    }

    /// The manifest entry and verified file path of a model.
    ///
    /// Refuses a model whose bytes differ from the pinned hash: a score must
    /// always be traceable to the exact weights that produced it.
    public func verifiedModel(named name: String) throws -> (entry: ModelManifest.Model, path: String) {
        guard let entry = manifest.model(named: name) else {
            throw VisionError.manifestInvalid(path: directory, reason: "no model named \(name)")
        }
        return (entry, try verifiedFile(entry.file, sha256: entry.sha256, model: name).path)
    }

    /// The bytes of a model's inference-kernel program (``KernelNetwork``), checked against its pin.
    public func verifiedKernelProgram(named name: String) throws -> (entry: ModelManifest.KernelProgram, bytes: Data) {
        guard let entry = manifest.model(named: name)?.kernel else {
            throw VisionError.manifestInvalid(path: directory, reason: "no kernel program for \(name)")
        }
        return (entry, try verifiedFile(entry.file, sha256: entry.sha256, model: name).bytes)
    }

    /// A file of the catalogue whose bytes hash to `sha256`, with its path.
    private func verifiedFile(_ file: String, sha256: String, model name: String) throws -> (path: String, bytes: Data) {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VisionError.modelMissing(name: name, path: path)
        }
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        guard digest == sha256 else {
            throw VisionError.modelHashMismatch(name: name, path: path, expected: sha256, actual: digest)
        }
        return (path, data)
    }
}
