import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A server child channel with the connection guards in front of `Base` (Hummingbird's HTTP/1 channel
/// with WebSocket upgrade): the ``ConnectionGuard`` before everything, TLS next when the server has a
/// certificate, and ``ParserErrorAnswer`` right after the HTTP decoder that `Base` installs.
///
/// TLS is set up here rather than by HummingbirdTLS's channel, which fixes its context when the
/// server starts: each connection takes the context current when it arrives (``TLSContextSource``),
/// so a certificate reloaded on SIGHUP serves the next handshake.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let census: ConnectionGuard.Census
    let limits: ConnectionLimits
    /// The certificate to answer with; nil serves plain HTTP.
    let tls: TLSContextSource?
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionGuard(census: census, limits: limits, logger: self.logger), position: .first)
            // TLS goes nearest the socket, so the guard reads the request in clear. Its header
            // timeout runs from the connection's start and so covers the handshake: a peer that never
            // finishes its hello is closed like one that never finishes its head.
            if let tls {
                try pipeline.addHandler(TLSFailureCloser(logger: self.logger), position: .first)
                try pipeline.addHandler(NIOSSLServerHandler(context: tls.context), position: .first)
                try pipeline.addHandler(PlainHTTPOnTLSPort(), position: .first)
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let maximumHeaderBytes = limits.maximumHeaderBytes
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(ParserErrorAnswer(maximumHeaderBytes: maximumHeaderBytes), position: .after(decoder.handler))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
