import CRabbitMQ
import Foundation

/// The broker's own ceiling for comparison: one rabbitmq-c connection that
/// publishes persistent messages to a quorum queue and waits for the confirms
/// of each window of `window` messages, with no HTTP, TCP or JSON in the way.
enum RawConfirmBench {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Messages per second confirmed.
    static func run(url: String, queue: String, messages: Int, window: Int, body: [UInt8]) throws -> Double {
        let c = try open(url)
        defer {
            amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS)
            amqp_connection_close(c, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(c)
        }
        guard pipeline_declare_topology(c, 1, queue, queue + ".dlx", queue + ".dead", 5) == 0 else {
            throw Failure(description: "declare failed")
        }
        amqp_confirm_select(c, 1)
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returned = [CChar](repeating: 0, count: 64)
        let start = ContinuousClock.now
        var sent = 0
        var confirmed: UInt64 = 0
        while sent < messages {
            let n = min(window, messages - sent)
            for i in 0..<n {
                let rc = body.withUnsafeBytes { b in
                    pipeline_publish(c, 1, queue, b.baseAddress, b.count, "raw:\(sent + i)", 0, "")
                }
                guard rc == 0 else { throw Failure(description: "publish failed: \(rc)") }
            }
            sent += n
            while confirmed < UInt64(sent) {
                let kind = pipeline_wait_confirm(c, 1, 5000, &tag, &multiple, &returned, returned.count, &status)
                switch kind {
                case PIPELINE_FRAME_ACK: confirmed = max(confirmed, tag)
                case PIPELINE_FRAME_OTHER, PIPELINE_FRAME_RETURN: continue
                default: throw Failure(description: "confirm wait failed: \(kind)")
                }
            }
            amqp_maybe_release_buffers(c)
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        return Double(messages) / seconds
    }

    /// Deletes a queue (and its dead-letter queue) so runs do not pile up messages in the broker.
    static func deleteQueues(url: String, _ queues: [String]) {
        guard let c = try? open(url) else { return }
        for q in queues {
            q.withCString { name in _ = amqp_queue_delete(c, 1, amqp_cstring_bytes(name), 0, 0) }
        }
        amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS)
        amqp_connection_close(c, AMQP_REPLY_SUCCESS)
        amqp_destroy_connection(c)
    }

    static func open(_ url: String) throws -> amqp_connection_state_t {
        guard let copy = strdup(url) else { throw Failure(description: "oom") }
        defer { free(copy) }
        var info = amqp_connection_info()
        amqp_default_connection_info(&info)
        guard amqp_parse_url(copy, &info) == 0, let c = amqp_new_connection(), let socket = amqp_tcp_socket_new(c),
            amqp_socket_open(socket, info.host, info.port) == 0
        else { throw Failure(description: "cannot connect to \(url)") }
        guard pipeline_reply_ok(pipeline_amqp_login(c, info.vhost, 131_072, 0, info.user, info.password, "pipeline-bench")) != 0 else {
            throw Failure(description: "login failed")
        }
        amqp_channel_open(c, 1)
        guard pipeline_reply_ok(amqp_get_rpc_reply(c)) != 0 else { throw Failure(description: "channel open failed") }
        return c
    }
}
