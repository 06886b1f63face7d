import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix
import PipelineCore

/// A lean TCP load generator: one channel handler per device keeps `window`
/// readings in flight, sending the next one from the event loop as each ack
/// arrives. No task or thread hop per reading, so the machine's cores go to
/// ingest and the broker, which are what is measured.
enum PipelinedLineLoad {
    final class Device: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let id: String
        let token: String
        let window: Int
        let end: NIODeadline
        let done: EventLoopPromise<IngestLoad.Result>
        var nextSeq: Int64 = 0
        var sentAt = CircularBuffer<(seq: Int64, at: NIODeadline)>()
        var result = IngestLoad.Result()
        var authenticated = false
        var finished = false

        private func finish(_ outcome: Result<IngestLoad.Result, any Error>) {
            guard !finished else { return }
            finished = true
            done.completeWith(outcome)
        }

        init(id: String, token: String, window: Int, end: NIODeadline, done: EventLoopPromise<IngestLoad.Result>) {
            self.id = id
            self.token = token
            self.window = window
            self.end = end
            self.done = done
            result.latenciesMs.reserveCapacity(4096)
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: "{\"auth\":\(jsonString(token))}\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let line = Self.unwrapInboundIn(data)
            let now = NIODeadline.now()
            if !authenticated {
                guard line.readableBytesView.elementsEqual(#"{"ok":true}"#.utf8) else {
                    finish(.failure(BenchError("auth refused for \(id)")))
                    context.close(promise: nil)
                    return
                }
                authenticated = true
                for _ in 0..<window { send(context) }
                context.flush()
                return
            }
            guard let sent = sentAt.popFirst() else { return }
            if line.readableBytesView.elementsEqual("{\"ack\":\(sent.seq)}".utf8) {
                result.acked += 1
                result.latenciesMs.append(Double((now - sent.at).nanoseconds) / 1e6)
            } else {
                result.failed += 1
            }
            if now < end {
                send(context)
                context.flush()
            } else if sentAt.isEmpty {
                finish(.success(result))
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(.failure(BenchError("connection of \(id) closed")))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.failure(error))
            context.close(promise: nil)
        }

        private func send(_ context: ChannelHandlerContext) {
            let seq = nextSeq
            nextSeq += 1
            sentAt.append((seq, .now()))
            context.write(Self.wrapOutboundOut(ByteBuffer(string: IngestLoad.reading(id, seq) + "\n")), promise: nil)
        }
    }

    static func run(
        host: String, port: Int, devices: [(id: String, token: String)], window: Int, duration: Duration
    ) async throws -> IngestLoad.Result {
        let group = MultiThreadedEventLoopGroup.singleton
        let start = ContinuousClock.now
        let end = NIODeadline.now() + TimeAmount(duration)
        var futures: [EventLoopFuture<IngestLoad.Result>] = []
        for d in devices {
            let loop = group.next()
            let done = loop.makePromise(of: IngestLoad.Result.self)
            _ = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            Device(id: d.id, token: d.token, window: window, end: end, done: done))
                    }
                }
                .connect(host: host, port: port).get()
            futures.append(done.futureResult)
        }
        var total = IngestLoad.Result()
        for f in futures { IngestLoad.merge(&total, try await f.get()) }
        total.seconds = (ContinuousClock.now - start) / .seconds(1)
        return total
    }
}
