import AffectCore
import AffectStore
import AffectVision
import Crypto
import Foundation

/// What participants' browsers need for device analysis, as this server serves it: the inference
/// kernel built for wasm32 (with SIMD, and the scalar fallback) and the two models' kernel programs
/// from the verified catalogue, each with its SHA-256. A page reports the hashes of what it runs,
/// and a session whose hashes differ is refused; the same hashes go into every device session's
/// provenance.
public struct DeviceKernel: Sendable {
    /// One file the page fetches from `/static/kernel/<name>`.
    public struct File: Sendable {
        public var name: String
        public var bytes: Data
        public var sha256: String
        public var contentType: String
    }

    /// Files by name.
    public let files: [String: File]
    /// The kernel's two builds.
    public let simd: File, scalar: File
    /// The detector's and the classifier's programs.
    public let detector: File, classifier: File
    /// The classifier's temperature from the manifest: applied by the server to the raw probabilities
    /// pages report, as it is to its own (`EmotionClassifier` with default options).
    public let calibration: TemperatureScaling?
    /// The models and settings behind device scores, but the rate (``provenance(framesPerSecond:)``).
    private let scoring: Provenance

    /// Where the kernel's builds are: `$AFFECT_KERNEL_DIR`, else where `scripts/build-kernel-wasm` puts
    /// them, `.build/wasm` in the checkout the catalogue's `models/` folder is in.
    public static func defaultDirectory(catalog: ModelCatalog) -> String {
        if let chosen = ProcessInfo.processInfo.environment["AFFECT_KERNEL_DIR"], !chosen.isEmpty { return chosen }
        let checkout = ((catalog.directory as NSString).standardizingPath as NSString).deletingLastPathComponent
        return (checkout as NSString).appendingPathComponent(".build/wasm")
    }

    /// Reads the kernel's builds from `directory` and the programs from the verified catalogue.
    public init(catalog: ModelCatalog, directory: String) throws {
        func read(_ name: String) throws -> Data {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw VisionError.modelMissing(name: "inference kernel (scripts/build-kernel-wasm)", path: path)
            }
            return data
        }
        func file(_ name: String, _ bytes: Data, _ type: String) -> File {
            File(name: name, bytes: bytes, sha256: SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(),
                 contentType: type)
        }
        simd = file("inference-kernel-simd.wasm", try read("inference-kernel-simd.wasm"), "application/wasm")
        scalar = file("inference-kernel.wasm", try read("inference-kernel.wasm"), "application/wasm")
        let detectorProgram = try catalog.verifiedKernelProgram(named: ModelCatalog.Name.blazeFace)
        let classifierProgram = try catalog.verifiedKernelProgram(named: ModelCatalog.Name.emotion)
        detector = file(detectorProgram.entry.file, detectorProgram.bytes, "application/octet-stream")
        classifier = file(classifierProgram.entry.file, classifierProgram.bytes, "application/octet-stream")
        files = Dictionary(uniqueKeysWithValues: [simd, scalar, detector, classifier].map { ($0.name, $0) })
        let classifierOptions = EmotionClassifier.Options()
        let temperature = catalog.manifest.model(named: ModelCatalog.Name.emotion)?.calibration?
            .first { $0.method == "temperature" && $0.flipAveraging == classifierOptions.flipAveraging }?.temperature
        calibration = temperature.map { TemperatureScaling(temperature: $0) }
        var models: [String: String] = [:]
        for name in [ModelCatalog.Name.blazeFace, ModelCatalog.Name.emotion] {
            models[name] = catalog.manifest.model(named: name)?.sha256
        }
        models["\(ModelCatalog.Name.blazeFace) (kernel program)"] = detector.sha256
        models["\(ModelCatalog.Name.emotion) (kernel program)"] = classifier.sha256
        models["inference kernel (wasm, SIMD)"] = simd.sha256
        models["inference kernel (wasm, scalar)"] = scalar.sha256
        scoring = Provenance(models: models, configuration: [
            "affect_version": AffectVersion.current,
            "analysis": AnalysisLocation.device.rawValue,
            "detector": DetectorKind.blazeface.rawValue,
            "crop_scale": String(classifierOptions.cropScale),
            "flip_tta": String(classifierOptions.flipAveraging),
            "align_eyes": String(classifierOptions.alignEyes),
            "calibration": temperature.map { "temperature \($0), applied by the server" } ?? "none in the manifest",
            "measures": "false",
            "tracking": "true",
            "half_life_ms": "500",
            "frame_quality": "not checked: the server never sees the pictures",
        ])
    }

    /// What device sessions record: the models, the files pages run, the settings, and the rate the
    /// session's pages are asked to analyse at (the study's, or the server's default).
    public func provenance(framesPerSecond: Double) -> Provenance {
        var provenance = scoring
        provenance.configuration["sampling"] = "in the browser, up to \(String(format: "%g", framesPerSecond)) fps"
        return provenance
    }

    /// What the page is told to fetch, with the hashes it must report back.
    struct Manifest: Encodable, Sendable {
        struct Entry: Encodable, Sendable {
            var url: String
            var sha256: String
        }
        var simd: Entry
        var scalar: Entry
        var detector: Entry
        var classifier: Entry
    }

    var manifest: Manifest {
        func entry(_ file: File) -> Manifest.Entry { .init(url: "/static/kernel/\(file.name)", sha256: file.sha256) }
        return Manifest(simd: entry(simd), scalar: entry(scalar), detector: entry(detector), classifier: entry(classifier))
    }
}
