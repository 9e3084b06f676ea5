import AffectCore
import AffectStore
import Foundation
import Hummingbird
import ServiceLifecycle

/// `/api/v1/live` (``Permission/readResults``): what the dashboard draws, for the studies the caller
/// reaches (an admin sees every study's sessions). A JSON snapshot, and the same as
/// Server-Sent Events: `snapshot` first, then `status`, `points`, `removed` and `audience` events as
/// sessions run. The dashboard reads the stream with `fetch` so its token travels in a header, never
/// in a URL.
struct LiveController {
    let feed: LiveFeed
    let store: PrivacyStore

    func addRoutes(to group: Routes) {
        group.get("") { _, context -> LiveFeed.Snapshot in
            var visible = try await Visibility(principal: context.authorize(.readResults), store: store)
            return visible.filter(feed.snapshot())
        }
        group.get("events") { _, context -> Response in
            var visibility = try await Visibility(principal: context.authorize(.readResults), store: store)
            let (everything, events, cancel) = feed.subscribe()
            let snapshot = visibility.filter(everything)
            let initial = visibility
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer { cancel() }
                var visible = initial
                let encoder = Self.encoder()
                func message(_ name: String, _ value: some Encodable) throws -> ByteBuffer {
                    let data = String(decoding: try encoder.encode(value), as: UTF8.self)
                    return ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
                }
                try await writer.write(message("snapshot", snapshot))
                // An open stream must not hold the server up when it shuts down.
                for await event in events.cancelOnGracefulShutdown() {
                    guard visible.shows(event) else { continue }
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

    /// What one caller may see of the feed: the sessions and audiences of the studies it reaches.
    struct Visibility: Sendable {
        /// Nil: everything (an admin).
        var studies: Set<String>?
        var sessions: Set<String> = []
        var stimuli: Set<String> = []

        init(principal: Principal, store: PrivacyStore) async throws {
            guard principal.role != .admin else { return }
            studies = principal.studies
            for study in principal.studies {
                stimuli.formUnion(try await store.stimuli(study: study).map(\.id))
            }
        }

        mutating func filter(_ snapshot: LiveFeed.Snapshot) -> LiveFeed.Snapshot {
            guard let studies else { return snapshot }
            var shown = snapshot
            shown.sessions = snapshot.sessions.filter { studies.contains($0.status.study) }
            sessions = Set(shown.sessions.map(\.status.session))
            shown.audiences = snapshot.audiences.filter { $0.stimulus.map(stimuli.contains) ?? false }
            return shown
        }

        mutating func shows(_ event: LiveFeed.Event) -> Bool {
            guard let studies else { return true }
            switch event {
            case .status(let status):
                guard studies.contains(status.study) else { return false }
                sessions.insert(status.session)
                if let stimulus = status.stimulus { stimuli.insert(stimulus) }
                return true
            case .points(let session, _), .removed(let session): return sessions.contains(session)
            case .audience(let stimulus, _): return stimulus.map(stimuli.contains) ?? false
            case .heartbeat: return true
            }
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
