import AffectStore
import Crypto
import Foundation
import Synchronization

/// The server's own folder of uploaded stimulus videos: the only files it ever sends to a participant.
///
/// Files are named by the library (`<UUID>.mp4|webm`) and found by that name alone
/// (``StimulusSource/upload(file:)``), so no stored or sent value can point outside the folder.
/// Stimuli are the researcher's media, never participants' pictures.
public struct StimulusLibrary: Sendable {
    /// The folder; created on the first upload.
    public let directory: String
    /// The largest stimulus file, in bytes.
    public let maximumBytes: Int

    /// Files found to match their recorded digest, by path, with the size and modification time they
    /// had then: a file is hashed again only when it changed (a 2 GB stimulus takes seconds to hash).
    private let verified = VerifiedFiles()

    public init(directory: String, maximumBytes: Int = 2 * 1024 * 1024 * 1024) {
        self.directory = directory
        self.maximumBytes = maximumBytes
    }

    /// The SHA-256 (hex) of a file the library keeps, recorded with its stimulus when it is added.
    public func digest(of source: StimulusSource) throws -> String {
        guard let path = path(of: source) else { throw Refusal.unreadable }
        return try Self.sha256(ofFileAt: path)
    }

    /// Whether the file behind `source` is still the one uploaded (its SHA-256 is `expected`). Servers
    /// sharing one folder (a network volume) each check before sending: a file half-copied, replaced
    /// or damaged on the volume is not played to participants. A file checked before and unchanged
    /// since (same size and modification time) is not hashed again.
    public func matches(_ source: StimulusSource, sha256 expected: String) -> Bool {
        guard let path = path(of: source),
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value,
              let modified = attributes[.modificationDate] as? Date else { return false }
        let stamp = VerifiedFiles.Stamp(size: size, modified: modified, sha256: expected)
        if verified.contains(path, stamp) { return true }
        guard (try? Self.sha256(ofFileAt: path)) == expected else { return false }
        verified.insert(path, stamp)
        return true
    }

    static func sha256(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Refusal.unreadable }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Why a file was not taken into the library.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case notVideo
        case tooLarge(limit: Int)
        case unreadable

        public var description: String {
            switch self {
            case .notVideo: "a stimulus must be an MP4 or WebM video"
            case .tooLarge(let limit): "a stimulus file must be at most \(limit) bytes"
            case .unreadable: "the stimulus file cannot be read"
            }
        }
    }

    /// The library of a data directory (`affect serve --data`, default `affect-data`): its `stimuli` folder.
    public static func inDataDirectory(_ data: String?) -> StimulusLibrary {
        StimulusLibrary(directory: ((data ?? "affect-data") as NSString).appendingPathComponent("stimuli"))
    }

    /// Where the library keeps a file it named; nil for anything it could not have named.
    public func path(of source: StimulusSource) -> String? {
        guard case .upload(let file) = source, (try? StimulusSource(uploadedFile: file)) != nil else { return nil }
        return (directory as NSString).appendingPathComponent(file)
    }

    /// A fresh path for a file being received; ``keep(partialAt:)`` checks and names it.
    func partialPath() throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory as NSString).appendingPathComponent(".upload-\(UUID().uuidString)")
    }

    /// Takes a fully received file into the library: refused (and removed) unless it is an MP4 or WebM.
    func keep(partialAt partial: String) throws -> StimulusSource {
        do {
            let container = try Self.container(ofFileAt: partial)
            let name = "\(UUID().uuidString).\(container)"
            try FileManager.default.moveItem(atPath: partial, toPath: (directory as NSString).appendingPathComponent(name))
            return try StimulusSource(uploadedFile: name)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Copies a video file from this machine into the library (`affect stimulus add --file`).
    public func importFile(at path: String) throws -> StimulusSource {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue, attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw Refusal.unreadable
        }
        guard size <= maximumBytes else { throw Refusal.tooLarge(limit: maximumBytes) }
        let partial = try partialPath()
        do {
            try FileManager.default.copyItem(atPath: path, toPath: partial)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw Refusal.unreadable
        }
        return try keep(partialAt: partial)
    }

    /// Removes a file the library named (an upload whose stimulus could not be stored).
    public func remove(_ source: StimulusSource) {
        if let path = path(of: source) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// `mp4` or `webm`, from the file's first bytes.
    static func container(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Refusal.unreadable }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 12))
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "webm" }
        if head.count >= 8, Array(head[4..<8]) == Array("ftyp".utf8) { return "mp4" }
        throw Refusal.notVideo
    }
}

/// Paths whose digest was checked, with what the file was like then; behind one lock.
final class VerifiedFiles: Sendable {
    struct Stamp: Hashable {
        var size: Int64
        var modified: Date
        var sha256: String
    }

    private let stamps = Mutex<[String: Stamp]>([:])

    func contains(_ path: String, _ stamp: Stamp) -> Bool { stamps.withLock { $0[path] == stamp } }

    func insert(_ path: String, _ stamp: Stamp) {
        stamps.withLock { stamps in
            // Bounded: a library holds a study's few stimuli; past this, start again.
            if stamps.count >= 10_000 { stamps.removeAll() }
            stamps[path] = stamp
        }
    }
}
