import AffectCore
import Foundation
import Hummingbird
import ServiceLifecycle

/// `/api/v1/live` (admin, analyst): what the dashboard draws. A JSON snapshot, and the same as
/// Server-Sent Events: `snapshot` first, then `status`, `points`, `removed` and `audience` events as
/// sessions run. The dashboard reads the stream with `fetch` so its token travels in a header, never
/// in a URL.
struct LiveController {
    let feed: LiveFeed

    func addRoutes(to group: Routes) {
        group.get("") { _, context -> LiveFeed.Snapshot in
            _ = try context.require(.admin, .analyst)
            return feed.snapshot()
        }
        group.get("events") { _, context -> Response in
            _ = try context.require(.admin, .analyst)
            let (snapshot, events, cancel) = feed.subscribe()
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer { cancel() }
                let encoder = Self.encoder()
                func message(_ name: String, _ value: some Encodable) throws -> ByteBuffer {
                    let data = String(decoding: try encoder.encode(value), as: UTF8.self)
                    return ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
                }
                try await writer.write(message("snapshot", snapshot))
                // An open stream must not hold the server up when it shuts down.
                for await event in events.cancelOnGracefulShutdown() {
                    let text: ByteBuffer = switch event {
                    case .status(let status): try message("status", status)
                    case .points(let session, let points): try message("points", Points(session: session, points: points))
                    case .removed(let session): try message("removed", Removed(session: session))
                    case .audience(let stimulus, let points):
                        try message("audience", LiveFeed.Snapshot.Audience(stimulus: stimulus, points: points))
                    case .heartbeat: ByteBuffer(string: ": keep-alive\n\n")
                    }
                    try await writer.write(text)
                }
                try await writer.finish(nil)
            })
        }
    }

    struct Points: Encodable {
        var session: String
        var points: [LiveFeed.SessionPoint]
    }

    struct Removed: Encodable {
        var session: String
    }

    /// One encoder per stream, not per event: a dashboard receives an event for every stored record.
    static func encoder() -> JSONEncoder { AffectJSON.encoder() }
}

extension LiveFeed.Snapshot: ResponseEncodable {}
