import AMQPClient
import ChaosKit
import Foundation
import Testing

/// The cluster `make chaos` breaks: three nodes on loopback, a quorum queue
/// replicated on all of them, and faults that provably take effect.
extension Integration {
@Suite struct RabbitClusterTests {
    @Test func killingTheLeaderMovesItAndConfirmsGoOn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID().uuidString.prefix(8))").path
        let cluster = try RabbitCluster(
            directory: directory, count: 3, tag: String(UUID().uuidString.prefix(6)).lowercased(), script: TestStack.rabbitmqScript)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try await cluster.start()
            let members = try await cluster.ctl(cluster.nodes[0], ["cluster_status", "--formatter", "json"])
            for node in cluster.nodes { #expect(members.contains(node.name)) }

            let amqp = AMQPConfiguration(urls: AMQPConfiguration.urls(from: cluster.amqpURL), queue: "chaos-test")
            let publisher = ConfirmPublisher(configuration: amqp, logger: TestStack.logger)
            publisher.start()
            func publish(_ range: Range<Int>) async throws {
                try await publisher.publish(range.map { OutgoingMessage(body: Array("m\($0)".utf8), messageID: "m:\($0)", acceptedAtMs: 0) })
            }
            try await publish(0..<500)
            let leader = try #require(try await cluster.leader(of: "chaos-test"))
            let vm = try #require(cluster.vmPID(leader))

            try cluster.signal(leader, SIGKILL)
            var gone = false
            for _ in 0..<100 where !gone {
                gone = !RabbitCluster.isAlive(vm)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(gone, "the leader's VM is gone")
            var moved: Int?
            for _ in 0..<100 where moved == nil || moved == leader {
                moved = try? await cluster.leader(of: "chaos-test")
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(moved != nil && moved != leader, "a follower took over from node \(leader)")
            try await publish(500..<1000)

            try await cluster.restart(leader)
            let after = try await cluster.ctl(cluster.nodes[leader - 1], ["cluster_status", "--formatter", "json"])
            let running = (try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [String: Any])?["running_nodes"] as? [String]
            #expect(Set(running ?? []) == Set(cluster.nodes.map(\.name)), "the restarted node rejoined")
            await publisher.shutdown()
        } catch {
            await cluster.stop()
            throw error
        }
        let pids = cluster.nodes.compactMap { cluster.vmPID($0.index) }
        await cluster.stop()
        #expect(pids.count == 3)
        for pid in pids { #expect(!RabbitCluster.isAlive(pid), "node VM \(pid) stopped") }
    }
}
}
