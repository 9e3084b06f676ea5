import AffectStore
import Foundation
import Hummingbird
import NIOCore

/// `POST /api/v1/studies/:study/stimuli/upload?name=...&variant=...` (admin): a stimulus video sent as
/// the request body (MP4 or WebM), kept in the server's data directory and played to participants
/// from there. Stimuli are the researcher's own media, never participants' pictures.
struct StimulusUpload {
    let store: PrivacyStore
    /// Where uploaded stimuli go; nil when the server has no data directory (uploads are then refused).
    let directory: String?
    let maximumBytes: Int

    func addRoutes(to group: Routes) {
        group.post(":study/stimuli/upload") { request, context -> EditedResponse<Stimulus> in
            let token = try context.require(.admin)
            guard let directory else {
                throw HTTPError(.serviceUnavailable, message: "this server has no data directory for uploads (start it with --data)")
            }
            guard let name = request.uri.queryParameters["name"].map(String.init), !name.isEmpty else {
                throw HTTPError(.badRequest, message: "name the stimulus: ?name=...&variant=A")
            }
            let variant = request.uri.queryParameters["variant"].map(String.init) ?? "A"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let partial = (directory as NSString).appendingPathComponent(".upload-\(UUID().uuidString)")
            var kept = false
            defer { if !kept { try? FileManager.default.removeItem(atPath: partial) } }
            let body = SizeLimitedBody(base: request.body, limit: maximumBytes)
            do {
                try await FileIO().writeFile(contents: body, path: partial, context: context)
            } catch {
                // The file system wraps the body's own error: say what happened.
                if body.exceeded.value { throw HTTPError(.contentTooLarge, message: "the upload exceeds the \(maximumBytes)-byte limit") }
                throw error
            }
            let container = try Self.container(ofFileAt: partial)
            let path = (directory as NSString).appendingPathComponent("\(UUID().uuidString).\(container)")
            try FileManager.default.moveItem(atPath: partial, toPath: path)
            do {
                let stimulus = try await store.addStimulus(study: try context.parameters.require("study"), name: name,
                                                           variant: variant, source: path, actor: "api:\(token.name)")
                kept = true
                return EditedResponse(status: .created, response: stimulus)
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw error
            }
        }
    }

    /// `mp4` or `webm`, from the file's first bytes; anything else is refused.
    static func container(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HTTPError(.internalServerError) }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 12))
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "webm" }
        if head.count >= 8, Array(head[4..<8]) == Array("ftyp".utf8) { return "mp4" }
        throw HTTPError(.unsupportedMediaType, message: "a stimulus upload must be an MP4 or WebM video")
    }
}

/// A request body that fails once it passes `limit` bytes, so an upload cannot fill the disk.
struct SizeLimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let limit: Int
    /// Set when the body went over the limit.
    let exceeded = Flag()

    struct TooLarge: Error {}

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var raised = false
        var value: Bool { lock.withLock { raised } }
        func raise() { lock.withLock { raised = true } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        let exceeded: Flag
        var received = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            received += buffer.readableBytes
            guard received <= limit else {
                exceeded.raise()
                throw TooLarge()
            }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit, exceeded: exceeded) }
}
