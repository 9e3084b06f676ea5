import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The first handler of every connection, on raw bytes: admits it under the connection cap (or
/// answers 503 and closes), and closes it when its first request's head is not complete within the
/// header timeout. Later requests on a kept-alive connection are timed by the HTTP layer's idle
/// timeout, which runs from the previous response.
///
/// It sits before the HTTP decoder, so it works the same for a connection that becomes a WebSocket;
/// once the head is in, it only counts the connection until it closes.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Connections open now, shared by every connection's guard.
    final class Census: Sendable {
        private let open = NIOLockedValueBox(0)
        let limit: Int

        init(limit: Int) {
            self.limit = limit
        }

        /// Takes a place; false when every place is taken.
        func admit() -> Bool {
            open.withLockedValue { count in
                guard count < limit else { return false }
                count += 1
                return true
            }
        }

        func release() {
            open.withLockedValue { $0 -= 1 }
        }

        var count: Int { open.withLockedValue { $0 } }
    }

    private let census: Census
    private let limits: ConnectionLimits
    private let logger: Logger
    private var admitted = false
    private var headDeadline: Scheduled<Void>?
    /// The last three bytes seen while looking for the blank line that ends the first head.
    private var tail: [UInt8] = []
    private var headComplete = false
    private var receivedAny = false

    /// Sent along the pipeline when a partly received head runs out of time.
    struct HeadTimedOut {
        var seconds: TimeAmount
    }

    init(census: Census, limits: ConnectionLimits, logger: Logger) {
        self.census = census
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !admitted, headDeadline == nil else { return }
        guard census.admit() else {
            // Refused before any HTTP handler sees it: the answer is written as raw bytes.
            logger.warning("connection refused: \(census.limit) connections are open (--max-connections)")
            let body = #"{"error":{"message":"the server is at its connection limit; try again shortly"}}"#
            let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Retry-After: 5\r\nConnection: close\r\n\r\n" + body
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: response))).assumeIsolated().whenComplete { _ in
                context.closeQuietly()
            }
            // Over TLS the answer waits for the handshake: a peer that never makes one is closed anyway.
            context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: limits.headerTimeout) { context.close(promise: nil) }
            return
        }
        admitted = true
        headDeadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: limits.headerTimeout) {
            guard !self.headComplete else { return }
            self.logger.debug("closing a connection that sent no complete request head in time")
            // A client that sent part of a head is told why (408, by ``ParserErrorAnswer``); one that
            // sent nothing is simply closed.
            if self.receivedAny { context.fireUserInboundEventTriggered(HeadTimedOut(seconds: self.limits.headerTimeout)) }
            context.closeQuietly()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }  // a refused connection's bytes go nowhere
        receivedAny = true
        if !headComplete {
            let buffer = unwrapInboundIn(data)
            if Self.containsBlankLine(buffer.readableBytesView, after: &tail) {
                headComplete = true
                headDeadline?.cancel()
                headDeadline = nil
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        headDeadline?.cancel()
        headDeadline = nil
        if admitted {
            admitted = false
            census.release()
        }
        context.fireChannelInactive()
    }

    /// Whether `bytes`, following the `tail` of what came before, complete a `\r\n\r\n`; updates `tail`.
    static func containsBlankLine(_ bytes: some Collection<UInt8>, after tail: inout [UInt8]) -> Bool {
        let terminator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var window = tail
        for byte in bytes {
            window.append(byte)
            if window.count > 4 { window.removeFirst() }
            if window == terminator { return true }
        }
        tail = Array(window.suffix(3))
        return false
    }
}

extension ChannelHandlerContext {
    /// Closes the connection as if the client had hung up: Hummingbird then ends it quietly, where a
    /// plain close during the WebSocket upgrade check makes it log an error for every such connection
    /// (a log any client could fill).
    func closeQuietly() {
        fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        close(promise: nil)
    }
}
