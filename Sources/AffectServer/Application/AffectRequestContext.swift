import AffectCore
import AffectStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Per-request state: who is calling (set by ``Authenticator``) and JSON in snake_case.
public struct AffectRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling (a signed-in person or an API token), if anyone.
    public var principal: Principal?
    /// Where a WebSocket route leaves its handler for the upgrade.
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection the request came on (a refused WebSocket upgrade installs its answer there).
    let channel: any Channel
    /// The client's address and whether it used HTTPS, set by ``ClientMiddleware`` (which believes a
    /// proxy's forwarded headers only from a trusted proxy); until then the peer's.
    public var client: RequestClient

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
        webSocket = .init()
        channel = source.channel
        client = RequestClient(address: source.channel.remoteAddress?.ipAddress ?? "unknown", isSecure: false)
    }

    /// The peer's address: the client's, or its proxy's (``client`` says which).
    var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// The largest JSON request body (stimulus uploads stream with their own limit).
    public var maxUploadSize: Int { 64 * 1024 }

    public var requestDecoder: JSONDecoder { AffectJSON.decoder() }

    public var responseEncoder: JSONEncoder { AffectJSON.encoder() }
}
