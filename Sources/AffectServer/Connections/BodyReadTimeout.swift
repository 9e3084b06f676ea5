import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request body falls silent for longer than the body timeout: a client
/// that sends a head announcing a body, then a trickle or nothing, would otherwise hold its
/// connection and the handler reading it forever. The clock restarts with every part received, so
/// a long upload that keeps moving is never cut.
///
/// It runs only while the server is asking for more of the body (a `read` is outstanding): a handler
/// that is busy elsewhere (a slow database, a loaded machine) stops reading, the client's bytes wait
/// in the socket, and that silence is the server's, not the client's. Measured under the whole test
/// suite on two cores: a body sent a byte every 0.2 s was cut at a 3 s timeout while its handler
/// had not asked for it.
final class BodyReadTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = Never

    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    /// Between a request's head and its end.
    private var inBody = false

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: inBody = true
        case .body: break
        case .end: inBody = false
        }
        // What was asked for arrived; the clock starts again with the next read.
        cancel()
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if inBody && deadline == nil { arm(context) }
        context.read()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeout) {
            self.logger.info("closing a connection whose request body stalled")
            context.close(promise: nil)
        }
    }
}
