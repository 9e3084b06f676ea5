import Foundation
import NIOCore
import NIOHTTP1

/// Gives a refused WebSocket upgrade its real answer.
///
/// When a WebSocket route declines an upgrade, Hummingbird answers an empty 400 whatever the route
/// said. A participant's page must learn why (unknown link: 404; used, expired or withdrawn: 410), so
/// the route installs this handler on the connection before declining: it turns that empty 400 into
/// the route's status with a JSON reason, and removes itself.
final class UpgradeRefusal: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: HTTPResponseStatus
    private let body: String

    init(status: HTTPResponseStatus, message: String) {
        self.status = status
        let encoded = (try? JSONEncoder().encode(["error": ["message": message]])).map { String(decoding: $0, as: UTF8.self) }
        body = encoded ?? #"{"error":{"message":"refused"}}"#
    }

    /// Installs the answer on the connection a request arrived on.
    static func install(on channel: any Channel, status: HTTPResponseStatus, message: String) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(UpgradeRefusal(status: status, message: message))
        }.get()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status == .badRequest:
            head.status = status
            head.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            head.headers.replaceOrAdd(name: "Content-Length", value: "\(body.utf8.count)")
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end(let trailers):
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        default:
            context.write(data, promise: promise)
        }
    }
}
