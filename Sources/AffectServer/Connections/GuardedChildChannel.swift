import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// A server child channel with the connection guards in front of `Base` (Hummingbird's HTTP/1 channel
/// with WebSocket upgrade): the ``ConnectionGuard`` before everything, and ``ParserErrorAnswer`` right
/// after the HTTP decoder that `Base` installs.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let census: ConnectionGuard.Census
    let limits: ConnectionLimits
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(census: census, limits: limits, logger: self.logger),
                                                           position: .first)
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
