import NIOCore
import NIOSSL
import PipelineCore

/// How a device reaches a target. `NetworkConnector` in every run; a protocol so
/// that the retry rule can be tested on a test clock against scripted links.
protocol DeviceConnector: Sendable {
    /// Connects on `loop`; a token, when there is one, is presented as the target's protocol wants.
    func connect(_ target: Target, token: String?, timeout: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<any DeviceLink>
}

/// Connects over the network: TCP (the `{"auth":…}` line presented at once) or HTTP(S).
struct NetworkConnector: DeviceConnector {
    /// For the targets that use TLS.
    let tls: NIOSSLContext?

    func connect(_ target: Target, token: String?, timeout: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<any DeviceLink> {
        let tls = target.usesTLS ? tls : nil
        if target.isHTTP {
            return HTTPConnection.connecting(host: target.host, port: target.port, tls: tls, group: loop, timeout: .seconds(5))
                .map { HTTPLink(connection: $0, token: token) }
        }
        return LineConnection.connecting(host: target.host, port: target.port, tls: tls, group: loop, timeout: .seconds(5))
            .flatMap { c -> EventLoopFuture<any DeviceLink> in
                guard let token else { return loop.makeSucceededFuture(LineLink(connection: c)) }
                return c.sending("{\"auth\":\(jsonString(token))}", timeout: timeout).flatMapThrowing { reply in
                    guard reply == #"{"ok":true}"# else {
                        c.channel.close(promise: nil)
                        throw AuthRefused(reply: reply)
                    }
                    return LineLink(connection: c)
                }
            }
    }
}
