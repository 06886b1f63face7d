import NIOCore
import NIOPosix
import NIOSSL

/// Opens a device's TCP connection, with TLS when given a context (the host name is
/// checked against the certificate unless it is an IP address), then the protocol's handlers.
/// Given an `EventLoop` as the group, the channel lives on that loop.
enum ClientChannel {
    static func connect(
        host: String, port: Int, tls: NIOSSLContext?, group: any EventLoopGroup, timeout: TimeAmount,
        handlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        let serverName = host.first?.isNumber == true ? nil : host
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try handlers(sync)
                }
            }
            .connect(host: host, port: port)
    }
}
