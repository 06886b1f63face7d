import AMQPClient
import ChaosKit
import Foundation
import Testing

extension Integration {
    /// The tests run on the broker production runs (RabbitMQ 4, with the Khepri metadata
    /// store), and what `pipeline migrate` declares is valid on the 3.x a machine may still have.
    @Suite struct BrokerVersionTests {
        /// The queue's arguments as `pipeline migrate` declares them, and the policy docs/reliability.md
        /// gives for a queue declared by an older version, accepted by the broker at `amqp`.
        static func declareAndApplyPolicy(_ amqp: AMQPConfiguration, ctl: ([String]) async throws -> String) async throws -> String {
            let server = try AMQPTopology.declare(amqp)
            let policy = #"{"dead-letter-strategy":"at-least-once","overflow":"reject-publish"}"#
            _ = try await ctl(["set_policy", "--apply-to", "queues", "pipeline-\(amqp.queue)", "^\(amqp.queue)$", policy])
            let queues = try await ctl(["list_queues", "name", "type", "arguments", "policy", "--formatter", "json", "--quiet"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(queues.utf8)) as? [[String: Any]])
            let row = try #require(rows.first { $0["name"] as? String == amqp.queue }, "\(queues)")
            #expect(row["type"] as? String == "quorum", "\(row)")
            #expect(row["policy"] as? String == "pipeline-\(amqp.queue)", "\(row)")
            #expect("\(row["arguments"] ?? "")".contains("x-delivery-limit"), "\(row)")
            return server
        }

        @Test func theStackRunsRabbitMQ4WithKhepri() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            var amqp = stack.amqp
            amqp.queue = "readings-version"
            let server = try await Self.declareAndApplyPolicy(amqp) { try stack.stackctl(["ctl", "-q"] + $0) }
            #expect(server.hasPrefix("RabbitMQ "), "\(server)")
            guard ProcessInfo.processInfo.environment["RABBITMQ"] != "system" else { return }
            let major = server.split(separator: " ").last?.split(separator: ".").first.flatMap { Int($0) } ?? 0
            #expect(major >= 4, "the stack runs \(server); RabbitMQ 4 by default (RABBITMQ=system for the system's)")
            let flags = try stack.stackctl(["ctl", "-q", "list_feature_flags", "name", "state"])
            #expect(flags.split(separator: "\n").contains { $0.hasPrefix("khepri_db") && $0.hasSuffix("enabled") }, "\(flags)")
        }

        /// On a machine whose own rabbitmq-server is 3.x (Debian 12's 3.10), one node of it.
        @Test func theTopologyIsValidOnTheSystemsRabbitMQ3() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rabbit3-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let node = try RabbitCluster(
                directory: directory, count: 1, tag: String(UUID().uuidString.prefix(6)).lowercased(), script: TestStack.rabbitmqScript,
                broker: "system")
            guard let system = try? await node.prepare(), system.hasPrefix("3.") else { return }  // 4.x: the stack is it
            try await node.start()
            do {
                let amqp = AMQPConfiguration(urls: AMQPConfiguration.urls(from: node.amqpURL), queue: "readings-compat")
                let server = try await Self.declareAndApplyPolicy(amqp) { try await node.ctl(node.nodes[0], ["-q"] + $0) }
                #expect(server == "RabbitMQ \(system.split(separator: " ")[0])")
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        }
    }
}
