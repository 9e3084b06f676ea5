import AffectCore

/// Finds faces in an image.
///
/// Implementations own a network and are not thread-safe: give each worker its own.
public protocol FaceDetector: AnyObject {
    /// The detector's stable name as the CLI and the audit trail spell it.
    var name: String { get }
    /// The faces in `image`, most confident first, in source pixel coordinates.
    func detect(in image: Image) throws -> [FaceCandidate]
}

/// The face detectors Affect ships.
public enum DetectorKind: String, CaseIterable, Sendable {
    /// CenterFace: many and small faces, five landmarks; slower.
    case centerface
    /// BlazeFace short range: one or a few faces at webcam distance; fast.
    case blazeface

    var modelName: String {
        switch self {
        case .centerface: ModelCatalog.Name.centerFace
        case .blazeface: ModelCatalog.Name.blazeFace
        }
    }

    /// Builds a detector of this kind from the verified catalogue.
    public func make(catalog: ModelCatalog) throws -> any FaceDetector {
        let model = try catalog.verifiedModel(named: modelName)
        switch self {
        case .centerface: return try CenterFaceDetector(modelPath: model.path)
        case .blazeface: return try BlazeFaceDetector(modelPath: model.path)
        }
    }
}
