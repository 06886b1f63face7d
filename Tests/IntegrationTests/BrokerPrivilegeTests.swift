import AMQPClient
import CRabbitMQ
import Foundation
import Testing

extension Integration {
    /// The services' broker users (scripts/stack.sh makes them as a deployment
    /// does) against the real broker, through rabbitmq-c directly: ingest may
    /// publish readings and nothing else, the analyzer consume them and publish
    /// dead letters; neither may purge, delete or declare.
    @Suite struct BrokerPrivilegeTests {
        /// A channel of a fresh connection as the URL's user.
        final class Session {
            let state: amqp_connection_state_t

            init(_ url: String) throws {
                let u = try #require(URLComponents(string: url))
                state = amqp_new_connection()
                let socket = amqp_tcp_socket_new(state)
                guard amqp_socket_open(socket, u.host, Int32(u.port ?? 5672)) == 0 else { throw TestStack.StackError("cannot connect") }
                let login = pipeline_amqp_login(state, "/", 131_072, 0, u.user ?? "", u.password ?? "", "privilege-test")
                guard pipeline_reply_ok(login) != 0 else { throw TestStack.StackError("login refused") }
                amqp_channel_open(state, 1)
                guard pipeline_reply_ok(amqp_get_rpc_reply(state)) != 0 else { throw TestStack.StackError("channel refused") }
            }

            deinit {
                amqp_connection_close(state, AMQP_REPLY_SUCCESS)
                amqp_destroy_connection(state)
            }

            /// The reply code that closed the channel (403 ACCESS_REFUSED, …), nil when the call succeeded.
            func refusal() -> Int? {
                let r = amqp_get_rpc_reply(state)
                guard r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, r.reply.id == AMQP_CHANNEL_CLOSE_METHOD else {
                    return pipeline_reply_ok(r) != 0 ? nil : -1
                }
                return Int(r.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee.reply_code)
            }

            func purge(_ queue: String) -> Int? {
                amqp_queue_purge(state, 1, amqp_cstring_bytes(queue))
                return refusal()
            }

            func delete(_ queue: String) -> Int? {
                amqp_queue_delete(state, 1, amqp_cstring_bytes(queue), 0, 0)
                return refusal()
            }

            func consume(_ queue: String) -> Int? {
                amqp_basic_consume(state, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
                return refusal()
            }

            func declare(_ queue: String) -> Int? {
                amqp_queue_declare(state, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table)
                return refusal()
            }

            /// Publishes to `exchange` with `routingKey`, then a round trip (a passive declare) shows whether
            /// the broker closed the channel over it.
            func publish(exchange: String, routingKey: String, probe queue: String) -> Int? {
                let body: [UInt8] = Array("{}".utf8)
                _ = body.withUnsafeBytes { b in
                    amqp_basic_publish(
                        state, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routingKey), 0, 0, nil,
                        amqp_bytes_t(len: b.count, bytes: UnsafeMutableRawPointer(mutating: b.baseAddress)))
                }
                amqp_queue_declare(state, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table)
                return refusal()
            }
        }

        /// AMQP_USER and AMQP_PASSWORD (as Secrets hold them) go into the URL percent-encoded:
        /// a password with `@ / : + % =` works.
        @Test func credentialsGivenApartFromTheURLMayHoldAnyCharacter() throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let (user, password) = ("odd-\(UInt32.random(in: 0...UInt32.max))", "p@ss/w:rd+%=?#x")
            try stack.stackctl("ctl", "add_user", user, password)
            defer { _ = try? stack.stackctl("ctl", "delete_user", user) }
            try stack.stackctl("ctl", "set_permissions", "-p", "/", user, "^$", "^$", "^$")
            try AMQPTopology.declare(stack.amqp)
            var c = stack.amqp
            c.urls = AMQPConfiguration.urls(from: stack.amqpURL, user: user, password: password)
            #expect(c.urls[0].contains(user) && !c.urls[0].contains(password))
            try AMQPTopology.declare(c)  // passively, with no permission at all: the login worked
            c.urls = AMQPConfiguration.urls(from: stack.amqpURL, user: user, password: "wrong")
            #expect(throws: AMQPError.self) { try AMQPTopology.declare(c) }
        }

        @Test func eachServiceUserMayDoItsPartOnly() throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.amqp(as: .ingest).urls[0]  // declares the test's topology as the administrator
            let analyzer = try stack.amqp(as: .analyzer).urls[0]
            let (q, dlx, dead) = (stack.queue, stack.queue + ".dlx", stack.queue + ".dead")
            let refused = 403

            // What each needs.
            #expect(try Session(ingest).publish(exchange: q, routingKey: q, probe: q) == nil)
            #expect(try Session(analyzer).consume(q) == nil)
            #expect(try Session(analyzer).publish(exchange: dlx, routingKey: "", probe: q) == nil)

            // Ingest: no consuming, purging, deleting or declaring; no publishing past the readings exchange.
            #expect(try Session(ingest).consume(q) == refused)
            #expect(try Session(ingest).purge(q) == refused)
            #expect(try Session(ingest).delete(q) == refused)
            #expect(try Session(ingest).delete(dead) == refused)
            #expect(try Session(ingest).declare("intruder") == refused)
            #expect(try Session(ingest).publish(exchange: "", routingKey: dead, probe: q) == refused)
            #expect(try Session(ingest).publish(exchange: dlx, routingKey: "", probe: q) == refused)
            // The analyzer: no deleting, declaring, or publishing readings; no reading its dead letters.
            // (RabbitMQ checks queue.purge against read, the permission consuming needs: it cannot
            // be withheld from a consumer. The queue is empty here.)
            #expect(try Session(analyzer).purge(q) == nil)
            #expect(try Session(analyzer).delete(q) == refused)
            #expect(try Session(analyzer).declare("intruder") == refused)
            #expect(try Session(analyzer).publish(exchange: q, routingKey: q, probe: q) == refused)
            #expect(try Session(analyzer).consume(dead) == refused)

            // Without the topology (not migrated), a service user cannot make it, and says what to run.
            var missing = try stack.amqp(as: .ingest)
            missing.queue = "readings-missing\(UInt32.random(in: 0...UInt32.max))"
            missing.deadLetterExchange = missing.queue + ".dlx"
            missing.deadLetterQueue = missing.queue + ".dead"
            #expect(throws: AMQPError.self) { try AMQPTopology.declare(missing) }
            do {
                try AMQPTopology.declare(missing)
            } catch {
                #expect(error.description.contains("run `pipeline migrate --with-broker`"), "\(error)")
            }
        }
    }
}
