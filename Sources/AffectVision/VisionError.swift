/// Failures of the vision layer, each with a one-line message naming what failed.
public enum VisionError: Error, Sendable, Equatable, CustomStringConvertible {
    case modelsMissing(directory: String)
    case modelMissing(name: String, path: String)
    case modelHashMismatch(name: String, path: String, expected: String, actual: String)
    case manifestInvalid(path: String, reason: String)
    case networkLoadFailed(path: String, reason: String)
    case inferenceFailed(model: String, reason: String)
    case imageUndecodable(source: String)
    /// Not an image Affect reads, or one whose header or data cannot be read at all.
    case imageUnreadable(source: String, reason: String)
    /// The header declares more pixels than the limit allows; nothing was decoded.
    case imageTooLarge(source: String, width: Int, height: Int, limit: Int)
    /// libjpeg could read only part of the data (cut short, corrupt): refused, not guessed.
    case imageCorrupt(source: String, reason: String)
    case inputMissing(path: String)
    case cameraMissing(path: String)
    case inputEmpty(path: String)
    case inputUnreadable(path: String, reason: String)
    case unsupportedScheme(input: String, scheme: String)
    case streamUnreachable(url: String)
    case streamStalled(source: String, seconds: Double)
    case streamCorrupt(source: String, reason: String)

    public var description: String {
        switch self {
        case .modelsMissing(let directory):
            "no model manifest in \(directory): run `make bootstrap` (or scripts/bootstrap) to fetch and convert the models"
        case .modelMissing(let name, let path):
            "model \(name) is missing at \(path): run scripts/bootstrap to rebuild it"
        case .modelHashMismatch(let name, let path, let expected, let actual):
            "model \(name) at \(path) has SHA-256 \(actual.prefix(12))…, the manifest pins \(expected.prefix(12))…: refusing to run an unverified model (rerun scripts/bootstrap)"
        case .manifestInvalid(let path, let reason):
            "model manifest \(path) is invalid: \(reason)"
        case .networkLoadFailed(let path, let reason):
            "cannot load network \(path): \(reason)"
        case .inferenceFailed(let model, let reason):
            "\(model) inference failed: \(reason)"
        case .imageUndecodable(let source):
            "\(source): not a decodable image"
        case .imageUnreadable(let source, let reason):
            "\(source): cannot read the image: \(reason)"
        case .imageTooLarge(let source, let width, let height, let limit):
            "\(source): a \(width)x\(height) image is over the \(PixelLimit.describe(limit)) limit; nothing was decoded"
        case .imageCorrupt(let source, let reason):
            "\(source): the image is damaged (\(reason.prefix(1).lowercased() + reason.dropFirst()))"
        case .inputMissing(let path):
            "\(path): no such file"
        case .cameraMissing(let path):
            "\(path): no such camera (is it connected, and may this user open /dev/video devices?)"
        case .inputEmpty(let path):
            "\(path): file is empty"
        case .inputUnreadable(let path, let reason):
            "\(path): \(reason)"
        case .unsupportedScheme(let input, let scheme):
            "\(input): unsupported URL scheme '\(scheme)' (use rtsp, http, https, udp, a file path, /dev/videoN or - for stdin)"
        case .streamUnreachable(let url):
            "\(url): stream unreachable (nothing answered or it sent no video)"
        case .streamStalled(let source, let seconds):
            "\(source): stream stopped sending (no frame for \(formatSeconds(seconds)) s)"
        case .streamCorrupt(let source, let reason):
            "\(source): \(reason)"
        }
    }
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
