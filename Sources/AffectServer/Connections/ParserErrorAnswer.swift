import NIOCore
import NIOHTTP1

/// Answers a request the HTTP decoder could not parse, then closes the connection: 431 for a head
/// over the size limit, 400 for anything else malformed, 408 for a head that did not arrive in time
/// (``ConnectionGuard`` says so). Without it the server answered nothing and left such connections open.
///
/// It sits right after the decoder, so it sees the decoder's errors before the HTTP layer does and
/// can still write a response head (nothing else has started one: the decoder failed mid-request).
final class ParserErrorAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let maximumHeaderBytes: Int
    private var answered = false

    init(maximumHeaderBytes: Int) {
        self.maximumHeaderBytes = maximumHeaderBytes
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        switch parserError {
        case .headerOverflow:
            answer(context, .requestHeaderFieldsTooLarge, "the request's headers are over the \(maximumHeaderBytes / 1024) KB limit")
        default:
            answer(context, .badRequest, "the request is not well-formed HTTP/1.1")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let timedOut = event as? ConnectionGuard.HeadTimedOut else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let seconds = Double(timedOut.seconds.nanoseconds) / 1e9
        let text = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        answer(context, .requestTimeout, "the request's head did not arrive within \(text) s")
    }

    private func answer(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        guard !answered else { return }
        answered = true
        let body = context.channel.allocator.buffer(string: #"{"error":{"message":"\#(message)"}}"#)
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.readableBytes)"),
                                   ("Connection", "close")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.closeQuietly() }
    }
}
