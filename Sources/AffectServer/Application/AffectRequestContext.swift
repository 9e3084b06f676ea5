import AffectCore
import AffectStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Per-request state: who is calling (set by ``TokenAuthenticator``) and JSON in snake_case.
public struct AffectRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The API token that authenticated this request, if any.
    public var token: PrivacyStore.APIToken?
    /// Where a WebSocket route leaves its handler for the upgrade.
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection the request came on (a refused WebSocket upgrade installs its answer there).
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        token = nil
        webSocket = .init()
        channel = source.channel
    }

    /// The largest JSON request body (stimulus uploads stream with their own limit).
    public var maxUploadSize: Int { 64 * 1024 }

    public var requestDecoder: JSONDecoder { AffectJSON.decoder() }

    public var responseEncoder: JSONEncoder { AffectJSON.encoder() }
}
