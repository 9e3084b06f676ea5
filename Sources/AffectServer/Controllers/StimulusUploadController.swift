import AffectCore
import AffectStore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// `POST /api/v1/studies/:study/stimuli/upload?name=...&variant=...` (``Permission/runStudy``): a stimulus video sent as
/// the request body (MP4 or WebM), kept in the server's ``StimulusLibrary`` and played to participants
/// from there.
struct StimulusUploadController {
    let store: PrivacyStore
    /// Where uploads go; nil when the server has no data directory (uploads are then refused).
    let library: StimulusLibrary?

    func addRoutes(to group: Routes) {
        group.post(":study/stimuli/upload") { request, context -> EditedResponse<Stimulus> in
            let (principal, study) = try await context.authorize(.runStudy, study: try context.parameters.require("study"), store: store)
            guard let library else {
                throw HTTPError(.serviceUnavailable, message: "this server keeps no uploaded files (start it with --data)")
            }
            guard let name = request.uri.queryParameters["name"].map(String.init), !name.isEmpty else {
                throw HTTPError(.badRequest, message: "name the stimulus: ?name=...&variant=A")
            }
            let variant = request.uri.queryParameters["variant"].map(String.init) ?? "A"
            // Checked before the body is read, so a bad name does not cost an upload.
            try InputRules.label(name, field: "a stimulus name")
            try InputRules.label(variant, field: "a variant", maximum: InputRules.maximumTagLength)
            let partial = try library.partialPath()
            let body = SizeLimitedBody(base: request.body, limit: library.maximumBytes)
            do {
                try await FileIO().writeFile(contents: body, path: partial, context: context)
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                // The file system wraps the body's own error: say what happened.
                if body.exceeded.value { throw HTTPError(.contentTooLarge, message: "the upload exceeds the \(library.maximumBytes)-byte limit") }
                throw error
            }
            let source: StimulusSource
            do {
                source = try library.keep(partialAt: partial)
            } catch let refusal as StimulusLibrary.Refusal {
                throw HTTPError(.unsupportedMediaType, message: refusal.description)
            }
            do {
                let stimulus = try await store.addStimulus(study: study.id, name: name,
                                                           variant: variant, source: source, sha256: try library.digest(of: source),
                                                           actor: principal.actor)
                return EditedResponse(status: .created, response: stimulus)
            } catch {
                library.remove(source)
                throw error
            }
        }
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

    final class Flag: Sendable {
        private let raised = Atomic(false)
        var value: Bool { raised.load(ordering: .acquiring) }
        func raise() { raised.store(true, ordering: .releasing) }
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
