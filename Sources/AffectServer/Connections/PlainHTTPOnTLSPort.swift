import NIOCore

/// In front of TLS: a connection whose first byte does not open a TLS handshake is someone typing
/// `http://` for an `https://` server. A request gets a plain 400 saying to use https:// (a TLS
/// handshake record starts with 0x16, an HTTP method with a capital letter); anything else is simply
/// closed. Either way TLS never sees it, so it cannot fill the log with handshake errors.
final class PlainHTTPOnTLSPort: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let handshakeRecord: UInt8 = 0x16
    static let answer: String = {
        let body = "This server speaks HTTPS only: use the same address with https:// in place of http://.\n"
        return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
    }()

    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        refused = true
        guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
            context.closeQuietly()
            return
        }
        // Written past TLS, straight to the socket: the handlers nearer the application would encrypt it.
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: Self.answer))).assumeIsolated().whenComplete { _ in
            context.closeQuietly()
        }
    }
}
