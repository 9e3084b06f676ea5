import CVBridge
import Foundation

/// Files, network streams and V4L2 cameras through OpenCV's FFmpeg and V4L2 backends.
///
/// Timestamps never come from OpenCV's `CAP_PROP_POS_MSEC`, which is unreliable
/// (zero on the last frames of some MP4s and on live UDP): files use
/// index / fps, live sources a monotonic clock started at the first frame.
final class OpenCVFrameSource: FrameSource {
    let name: String
    let nominalFramesPerSecond: Double?
    let declaredFrameCount: Int?
    let isLive: Bool
    private let handle: OpaquePointer
    private let timeoutSeconds: Double
    private var nextIndex = 0
    private var clockStart: ContinuousClock.Instant?
    private var lastFrameAt = ContinuousClock.now
    private var connectionless = false

    init(file path: String, maximumPixels: Int) throws {
        _ = try Self.checkFile(path)
        OpenCVRuntime.prepared
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = cvb_video_open(path, -1, 0, 0, &error, error.count) else {
            throw VisionError.inputUnreadable(path: path, reason: "not a readable video (unknown format or corrupt)")
        }
        self.handle = handle
        name = path
        isLive = false
        timeoutSeconds = 0
        let fps = cvb_video_fps(handle)
        nominalFramesPerSecond = fps > 0 && fps < 1000 ? fps : nil
        let count = Int(cvb_video_frame_count(handle))
        declaredFrameCount = count > 0 ? count : nil
        try checkSize(maximumPixels)
    }

    init(stream url: String, timeoutSeconds: Double, maximumPixels: Int) throws {
        OpenCVRuntime.prepared
        var error = [CChar](repeating: 0, count: 256)
        let milliseconds = Int32(max(1, timeoutSeconds * 1000))
        guard let handle = cvb_video_open(url, -1, milliseconds, milliseconds, &error, error.count) else {
            throw VisionError.streamUnreachable(url: url)
        }
        self.handle = handle
        name = url
        self.timeoutSeconds = timeoutSeconds
        let fps = cvb_video_fps(handle)
        nominalFramesPerSecond = fps > 0 && fps < 1000 ? fps : nil
        let count = Int(cvb_video_frame_count(handle))
        // RTSP, UDP and the like are live whatever the backend reports; an HTTP URL that serves a
        // finite file has a frame count and is timed like a file.
        let scheme = url.prefix { $0 != ":" }.lowercased()
        let http = scheme == "http" || scheme == "https"
        declaredFrameCount = http && count > 0 ? count : nil
        isLive = declaredFrameCount == nil
        connectionless = ["udp", "rtp"].contains(scheme)
        try checkSize(maximumPixels)
    }

    init(device index: Int, path: String, maximumPixels: Int) throws {
        OpenCVRuntime.prepared
        var error = [CChar](repeating: 0, count: 256)
        guard FileManager.default.fileExists(atPath: path) else { throw VisionError.cameraMissing(path: path) }
        guard let handle = cvb_video_open(nil, Int32(index), 0, 0, &error, error.count) else {
            throw VisionError.inputUnreadable(path: path, reason: "cannot open camera")
        }
        self.handle = handle
        name = path
        isLive = true
        timeoutSeconds = 10
        let fps = cvb_video_fps(handle)
        nominalFramesPerSecond = fps > 0 && fps < 1000 ? fps : nil
        declaredFrameCount = nil
        try checkSize(maximumPixels)
    }

    deinit {
        cvb_video_close(handle)
    }

    /// Refuses a video whose frames are larger than `maximumPixels` before any frame is converted.
    private func checkSize(_ maximumPixels: Int) throws {
        let width = Int(cvb_video_width(handle)), height = Int(cvb_video_height(handle))
        if width * height > maximumPixels {
            throw VisionError.imageTooLarge(source: name, width: width, height: height, limit: maximumPixels)
        }
    }

    static func checkFile(_ path: String) throws -> Int {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VisionError.inputMissing(path: path)
        }
        if isDirectory.boolValue { throw VisionError.inputUnreadable(path: path, reason: "is a directory") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw VisionError.inputUnreadable(path: path, reason: "permission denied")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw VisionError.inputEmpty(path: path) }
        return size ?? 0
    }

    func advance() throws -> FrameStamp? {
        let attemptStart = ContinuousClock.now
        guard cvb_video_grab(handle) == 1 else {
            if nextIndex == 0 && !isLive {
                throw VisionError.inputUnreadable(path: name, reason: "no decodable video frames (corrupt or not a video)")
            }
            if isLive {
                let waited = attemptStart.duration(to: .now)
                if nextIndex == 0 { throw VisionError.streamUnreachable(url: name) }
                // UDP has no end of stream: when packets stop, the sender stopped sending.
                if connectionless || waited >= .seconds(timeoutSeconds * 0.5) {
                    throw VisionError.streamStalled(source: name, seconds: timeoutSeconds)
                }
                // The sender closed the stream: a normal end.
            }
            return nil
        }
        let index = nextIndex
        nextIndex += 1
        lastFrameAt = .now
        if !isLive, let fps = nominalFramesPerSecond {
            return FrameStamp(index: index, timeMilliseconds: Double(index) * 1000 / fps)
        }
        let start = clockStart ?? lastFrameAt
        clockStart = start
        return FrameStamp(index: index, timeMilliseconds: start.duration(to: lastFrameAt).milliseconds)
    }

    func currentImage() throws -> Image {
        guard let image = cvb_video_retrieve(handle) else {
            throw VisionError.streamCorrupt(source: name, reason: "frame \(nextIndex - 1) could not be decoded")
        }
        return Image(handle: image)
    }
}
