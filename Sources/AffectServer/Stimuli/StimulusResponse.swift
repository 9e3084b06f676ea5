import AffectStore
import Foundation
import Hummingbird

/// A stimulus as an answer: a redirect to its web address, or the uploaded file itself, checked
/// against its upload's SHA-256 first. Participant links and the console's review player use this one.
enum StimulusResponse {
    static func make(_ stimulus: Stimulus, library: StimulusLibrary?, context: AffectRequestContext) async throws -> Response {
        switch stimulus.source {
        case .url(let address):
            return Response(status: .found, headers: [.location: address, .cacheControl: "no-store"])
        case .upload:
            // Only a file the library named, in its own folder: nothing stored can point elsewhere.
            guard let library, let path = library.path(of: stimulus.source), FileManager.default.isReadableFile(atPath: path) else {
                throw HTTPError(.notFound, message: "the stimulus video is missing on the server")
            }
            // The folder may be shared by several servers: send only the file that was uploaded.
            if let expected = stimulus.sha256, !library.matches(stimulus.source, sha256: expected) {
                context.logger.error("stimulus file does not match its upload's SHA-256; not served", metadata: ["stimulus": "\(stimulus.id)"])
                throw HTTPError(.notFound, message: "the stimulus video on the server is not the one uploaded")
            }
            let type = path.hasSuffix(".webm") ? "video/webm" : "video/mp4"
            let body = try await FileIO().loadFile(path: path, context: context)
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: body)
        case .retiredPath:
            throw HTTPError(.gone, message: "this stimulus has to be uploaded again before it can be shown")
        }
    }
}
