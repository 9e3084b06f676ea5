import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Frames piped in as Motion JPEG (concatenated JPEGs, with or without
/// multipart boundaries), concatenated PNGs (lossless: `ffmpeg -f image2pipe -c:v png`)
/// or YUV4MPEG2 (4:2:0), told apart by their first bytes.
///
/// Y4M carries a frame rate and is timed by index; MJPEG and PNG are timed by a monotonic clock.
final class StreamFrameSource: FrameSource {
    enum Format {
        case mjpeg
        case png
        case y4m(width: Int, height: Int)
    }

    let name: String
    private(set) var nominalFramesPerSecond: Double?
    let declaredFrameCount: Int? = nil
    private(set) var isLive = true
    private let descriptor: Int32
    private let timeoutSeconds: Double
    private let maximumPixels: Int
    private var buffer: [UInt8] = []
    private var endOfInput = false
    private var format: Format?
    private var frameBytes: [UInt8] = []
    private var nextIndex = 0
    private var clockStart: ContinuousClock.Instant?

    /// Largest single frame accepted, so a stream of garbage cannot grow memory without bound.
    static let maximumFrameBytes = 64 << 20

    init(fileDescriptor: Int32, name: String, timeoutSeconds: Double, maximumPixels: Int) throws {
        descriptor = fileDescriptor
        self.name = name
        self.timeoutSeconds = timeoutSeconds
        self.maximumPixels = maximumPixels
        // Read the header now: whether the source is timed by its frame rate must be known before sampling starts.
        format = try detectFormat()
    }

    deinit {
        wipe(&frameBytes)
        wipe(&buffer)
    }

    func advance() throws -> FrameStamp? {
        wipe(&frameBytes)
        switch format {
        case .y4m(let width, let height):
            guard try readY4MFrame(width: width, height: height) else { return nil }
        case .mjpeg:
            guard try readJPEG() else { return nil }
        case .png:
            guard try readPNG() else { return nil }
        case nil:
            return nil
        }
        let index = nextIndex
        nextIndex += 1
        if !isLive, let fps = nominalFramesPerSecond {
            return FrameStamp(index: index, timeMilliseconds: Double(index) * 1000 / fps)
        }
        let now = ContinuousClock.now
        let start = clockStart ?? now
        clockStart = start
        return FrameStamp(index: index, timeMilliseconds: start.duration(to: now).milliseconds)
    }

    func currentImage() throws -> Image {
        switch format {
        case .y4m(let width, let height):
            return try Image(i420: Data(frameBytes), width: width, height: height, source: "\(name) frame \(nextIndex - 1)")
        default:
            return try Image(encoded: Data(frameBytes), maximumPixels: maximumPixels, source: "\(name) frame \(nextIndex - 1)")
        }
    }

    // MARK: Formats

    private func detectFormat() throws -> Format? {
        while buffer.count < 9 {
            guard try fill() else {
                if buffer.isEmpty { throw VisionError.streamCorrupt(source: name, reason: "no input (expected MJPEG, PNG or Y4M)") }
                break
            }
        }
        if buffer.starts(with: Array("YUV4MPEG2".utf8)) { return try parseY4MHeader() }
        if buffer.count >= 2, buffer[0] == 0xFF, buffer[1] == 0xD8 { return .mjpeg }
        if buffer.starts(with: Self.pngSignature) { return .png }
        if buffer.starts(with: Array("--".utf8)) || buffer.starts(with: Array("Content-".utf8)) { return .mjpeg }
        throw VisionError.streamCorrupt(source: name, reason: "neither MJPEG, PNG nor Y4M (unrecognised first bytes)")
    }

    private func parseY4MHeader() throws -> Format {
        guard let line = try readLine(limit: 1024) else {
            throw VisionError.streamCorrupt(source: name, reason: "truncated Y4M header")
        }
        var width = 0, height = 0
        for token in line.split(separator: " ").dropFirst() {
            let value = token.dropFirst()
            switch token.first {
            case "W": width = Int(value) ?? 0
            case "H": height = Int(value) ?? 0
            case "F":
                let parts = value.split(separator: ":").compactMap { Double($0) }
                if parts.count == 2, parts[1] > 0, parts[0] > 0 {
                    nominalFramesPerSecond = parts[0] / parts[1]
                    isLive = false
                }
            case "C":
                guard value.hasPrefix("420") else {
                    throw VisionError.streamCorrupt(source: name, reason: "Y4M colour space C\(value) is not supported (use 4:2:0)")
                }
            default: break
            }
        }
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 1 << 20, height <= 1 << 20 else {
            throw VisionError.streamCorrupt(source: name, reason: "bad Y4M frame size \(width)x\(height)")
        }
        guard width * height <= maximumPixels, width * height * 3 / 2 <= Self.maximumFrameBytes else {
            throw VisionError.imageTooLarge(source: name, width: width, height: height, limit: maximumPixels)
        }
        return .y4m(width: width, height: height)
    }

    private func readY4MFrame(width: Int, height: Int) throws -> Bool {
        guard let line = try readLine(limit: 1024) else { return false }
        guard line.hasPrefix("FRAME") else {
            throw VisionError.streamCorrupt(source: name, reason: "bad Y4M frame marker at frame \(nextIndex)")
        }
        let size = width * height * 3 / 2
        while buffer.count < size {
            guard try fill() else {
                throw VisionError.streamCorrupt(source: name, reason: "truncated Y4M frame \(nextIndex)")
            }
        }
        frameBytes = Array(buffer[0..<size])
        consume(size)
        return true
    }

    private func readJPEG() throws -> Bool {
        var searched = 0
        // Find the start-of-image marker, skipping multipart headers and boundaries.
        var start: Int?
        while start == nil {
            start = find(0xFF, 0xD8, from: searched)
            if start == nil {
                searched = max(0, buffer.count - 1)
                guard try fill() else { return false }
                if buffer.count > Self.maximumFrameBytes {
                    throw VisionError.streamCorrupt(source: name, reason: "no JPEG frame found in \(buffer.count) bytes")
                }
            }
        }
        guard let startIndex = start else { return false }
        var endSearch = startIndex + 2
        while true {
            if let end = find(0xFF, 0xD9, from: endSearch) {
                frameBytes = Array(buffer[startIndex..<(end + 2)])
                consume(end + 2)
                return true
            }
            endSearch = max(startIndex + 2, buffer.count - 1)
            guard try fill() else {
                throw VisionError.streamCorrupt(source: name, reason: "truncated JPEG frame \(nextIndex)")
            }
            if buffer.count - startIndex > Self.maximumFrameBytes {
                throw VisionError.streamCorrupt(source: name, reason: "JPEG frame \(nextIndex) exceeds \(Self.maximumFrameBytes >> 20) MB")
            }
        }
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// One PNG: its signature, then chunks (4-byte big-endian length, type, data, CRC) up to IEND.
    /// The chunk lengths say where it ends, so nothing inside a frame is mistaken for its end.
    private func readPNG() throws -> Bool {
        while buffer.count < 8 {
            guard try fill() else {
                if buffer.isEmpty { return false }
                throw VisionError.streamCorrupt(source: name, reason: "truncated PNG frame \(nextIndex)")
            }
        }
        guard buffer.starts(with: Self.pngSignature) else {
            throw VisionError.streamCorrupt(source: name, reason: "PNG frame \(nextIndex) does not start with a PNG signature")
        }
        var end = 8
        while true {
            while buffer.count < end + 8 {
                guard try fill() else { throw VisionError.streamCorrupt(source: name, reason: "truncated PNG frame \(nextIndex)") }
            }
            let length = buffer[end..<(end + 4)].reduce(0) { $0 << 8 | Int($1) }
            let isLast = buffer[(end + 4)..<(end + 8)].elementsEqual("IEND".utf8)
            end += 12 + length
            if end > Self.maximumFrameBytes {
                throw VisionError.streamCorrupt(source: name, reason: "PNG frame \(nextIndex) exceeds \(Self.maximumFrameBytes >> 20) MB")
            }
            if isLast { break }
        }
        while buffer.count < end {
            guard try fill() else { throw VisionError.streamCorrupt(source: name, reason: "truncated PNG frame \(nextIndex)") }
        }
        frameBytes = Array(buffer[0..<end])
        consume(end)
        return true
    }

    // MARK: Buffer

    private func find(_ first: UInt8, _ second: UInt8, from offset: Int) -> Int? {
        guard buffer.count >= 2 else { return nil }
        var index = max(0, offset)
        while index < buffer.count - 1 {
            if buffer[index] == first && buffer[index + 1] == second { return index }
            index += 1
        }
        return nil
    }

    private func readLine(limit: Int) throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[0..<newline], as: UTF8.self)
                consume(newline + 1)
                return line
            }
            if buffer.count > limit { throw VisionError.streamCorrupt(source: name, reason: "header line too long") }
            guard try fill() else { return nil }
        }
    }

    private func consume(_ count: Int) {
        buffer.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { _ = memset(base, 0, count) }
        }
        buffer.removeFirst(count)
    }

    /// Reads more bytes; false at end of input. Throws when nothing arrives within the timeout.
    private func fill() throws -> Bool {
        guard !endOfInput else { return false }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(max(1, timeoutSeconds * 1000)))
        if ready == 0 { throw VisionError.streamStalled(source: name, seconds: timeoutSeconds) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return true }
            throw VisionError.streamCorrupt(source: name, reason: "read failed: \(String(cString: strerror(errno)))")
        }
        if count == 0 {
            endOfInput = true
            return false
        }
        buffer.append(contentsOf: chunk[0..<count])
        wipe(&chunk)
        return true
    }
}

/// Overwrites pixel bytes before their memory is released.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
        if let base = raw.baseAddress { _ = memset(base, 0, raw.count) }
    }
    bytes.removeAll()
}
