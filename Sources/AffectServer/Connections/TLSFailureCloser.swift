import Logging
import NIOCore
import NIOSSL

/// Just behind TLS: a handshake that fails (a browser that does not trust the certificate, a scanner,
/// a peer that hangs up mid-handshake) closes its connection quietly, with a debug line, rather than
/// travelling up to the HTTP layer, which would log an error any client could provoke at will.
final class TLSFailureCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is NIOSSLError || error is BoringSSLError else {
            context.fireErrorCaught(error)
            return
        }
        logger.debug("TLS connection closed: \(error)")
        context.closeQuietly()
    }
}
