import Foundation

/// An input as the user names it on the command line.
public enum VideoInput: Sendable, Hashable {
    case imageFile(String)
    case videoFile(String)
    case stream(URL: String)
    case device(index: Int, path: String)
    case standardInput

    /// Schemes read through FFmpeg.
    public static let streamSchemes: Set<String> = ["rtsp", "rtsps", "http", "https", "udp", "rtp", "tcp", "rtmp"]
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff", "pgm", "ppm"]

    /// True for network streams and cameras: frames arrive at the sender's pace, whether or not
    /// anyone keeps up, so they must be captured without waiting for analysis.
    public var isCaptured: Bool {
        switch self {
        case .stream, .device: true
        case .imageFile, .videoFile, .standardInput: false
        }
    }

    /// Classifies an input: `-` is stdin, `scheme://` a stream, `/dev/videoN` a camera, anything else a file.
    public init(parsing text: String) throws {
        if text == "-" {
            self = .standardInput
            return
        }
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound].lowercased()
            guard VideoInput.streamSchemes.contains(scheme) else {
                throw VisionError.unsupportedScheme(input: text, scheme: scheme)
            }
            self = .stream(URL: text)
            return
        }
        if text.hasPrefix("/dev/video"), let index = Int(text.dropFirst("/dev/video".count)) {
            self = .device(index: index, path: text)
            return
        }
        let ext = (text as NSString).pathExtension.lowercased()
        self = VideoInput.imageExtensions.contains(ext) ? .imageFile(text) : .videoFile(text)
    }

    /// Opens the input as a frame source.
    /// - Parameters:
    ///   - timeoutSeconds: how long a stream may take to open or go without a frame.
    ///   - maximumPixels: the largest image or video frame accepted, by declared size (``PixelLimit``).
    public func open(timeoutSeconds: Double = 10, maximumPixels: Int = PixelLimit.files) throws -> any FrameSource {
        switch self {
        case .imageFile(let path): return try ImageFrameSource(path: path, maximumPixels: maximumPixels)
        case .videoFile(let path): return try OpenCVFrameSource(file: path, maximumPixels: maximumPixels)
        case .stream(let url): return try OpenCVFrameSource(stream: url, timeoutSeconds: timeoutSeconds, maximumPixels: maximumPixels)
        case .device(let index, let path): return try OpenCVFrameSource(device: index, path: path, maximumPixels: maximumPixels)
        case .standardInput:
            return try StreamFrameSource(fileDescriptor: 0, name: "stdin", timeoutSeconds: timeoutSeconds, maximumPixels: maximumPixels)
        }
    }
}
