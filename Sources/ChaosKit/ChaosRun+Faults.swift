import Foundation
import SQL

extension ChaosRun {
    /// Injects one fault, records what shows it took effect, and brings the victim back.
    func inject(_ fault: ChaosFault, into record: inout FaultRecord) async throws {
        switch fault {
        case .ingestKill: try await killIngest(&record)
        case .analyzerKill: try await killAnalyzer(&record)
        case .leaderKill: try await killNode(leader: true, &record)
        case .followerKill: try await killNode(leader: false, &record)
        case .databaseStop: try await stopDatabase(&record)
        case .databaseReadOnly: try await makeDatabaseReadOnly(&record)
        case .nodePause: try await pauseLeader(&record)
        }
    }

    private func killIngest(_ record: inout FaultRecord) async throws {
        let fleet = fleet!, name = "ingest-1"
        record.target = name
        let victim = fleet.process(name)!
        let start = ContinuousClock.now
        let answer = try? await fleet.request(name, .POST, "/kill")
        let gone = await victim.waitForExit(timeout: .seconds(5))
        record.observe(
            "POST /kill \(answer.map { "answered \($0.status)" } ?? "got no answer"); PID \(victim.pid) "
                + (gone ? "ended (\(victim.exit ?? "?")) \(Self.ms(ContinuousClock.now - start)) after the request" : "still runs 5 s later"),
            holds: gone)
        try await restart(name, into: &record)
    }

    private func killAnalyzer(_ record: inout FaultRecord) async throws {
        let fleet = fleet!, name = "analyzer-1", other = "analyzer-2"
        record.target = name
        let victim = fleet.process(name)!
        let handled = try await fleet.metric(name, "analyzer_readings_total")
        let otherBefore = try await fleet.metric(other, "analyzer_redeliveries_total")
        // Frozen for a moment at whatever point of its loop it was, so it surely holds deliveries
        // (the broker keeps sending up to the prefetch), then killed.
        victim.signal(SIGSTOP)
        try await Task.sleep(for: .seconds(1))
        victim.signal(SIGKILL)
        let gone = await victim.waitForExit(timeout: .seconds(5))
        record.observe(
            "SIGKILL to PID \(victim.pid) (after it had handled \(Int(handled)) messages, frozen 1 s first): "
                + (gone ? "ended (\(victim.exit ?? "?"))" : "still runs 5 s later"), holds: gone)
        try await restart(name, into: &record)
        // What it held unacknowledged went back to the queue and out again, flagged redelivered.
        var redelivered = 0.0
        _ = try await waitUntil(timeout: .seconds(15)) {
            let a = (try? await fleet.metric(other, "analyzer_redeliveries_total")) ?? otherBefore
            let b = (try? await fleet.metric(name, "analyzer_redeliveries_total")) ?? 0
            redelivered = a - otherBefore + b
            return redelivered > 0
        }
        record.observe("\(Int(redelivered)) deliveries it held unacknowledged were redelivered to the analyzers", holds: redelivered > 0)
    }

    private func restart(_ name: String, into record: inout FaultRecord) async throws {
        try await Task.sleep(for: configuration.downtime)
        try await fleet!.start(name)
        let ready = try await fleet!.waitUntilReady(name)
        record.observe("started again after \(Self.ms(configuration.downtime)) as PID \(fleet!.process(name)!.pid), ready in \(Self.ms(ready))")
    }

    private func killNode(leader: Bool, _ record: inout FaultRecord) async throws {
        let cluster = cluster!
        guard let lead = try await cluster.leader(of: queue) else { throw ChaosError("the queue \(queue) has no leader") }
        let index = leader ? lead : cluster.nodes.map(\.index).first { $0 != lead }!
        record.target = "rabbit node \(index) (\(leader ? "leader" : "follower; node \(lead) leads"))"
        guard let vm = cluster.vmPID(index) else { throw ChaosError("node \(index) is not running") }
        let start = ContinuousClock.now
        try cluster.signal(index, SIGKILL)
        let gone = try await waitUntil(timeout: .seconds(5)) { !RabbitCluster.isAlive(vm) }
        record.observe("SIGKILL to the Erlang VM, PID \(vm): " + (gone.map { "gone after \(Self.ms($0))" } ?? "still runs 5 s later"), holds: gone != nil)
        if leader {
            var now: Int?
            let moved = try await waitUntil(timeout: .seconds(30)) {
                now = try? await cluster.leader(of: self.queue)
                return now != nil && now != index
            }
            record.observe(
                moved.map { _ in "leadership moved to node \(now!) (seen \(Self.ms(ContinuousClock.now - start)) after the kill)" }
                    ?? "leadership did not move within 30 s", holds: moved != nil)
        } else {
            let now = try? await cluster.leader(of: queue)
            record.observe("node \(lead) still leads", holds: now == lead)
        }
        try await Task.sleep(for: configuration.downtime)
        try await cluster.restart(index)
        try await expectRejoined(index, &record)
    }

    private func pauseLeader(_ record: inout FaultRecord) async throws {
        let cluster = cluster!, simulator = simulator!
        guard let lead = try await cluster.leader(of: queue), let vm = cluster.vmPID(lead) else {
            throw ChaosError("the queue \(queue) has no running leader")
        }
        let node = cluster.nodes[lead - 1]
        record.target = "rabbit node \(lead) (leader)"
        let start = ContinuousClock.now
        let ackedBefore = simulator.status().acked
        try cluster.signal(lead, SIGSTOP)
        let frozen = try await waitUntil(timeout: .seconds(2)) { Self.state(vm)?.hasPrefix("T") == true }
        record.observe(
            "SIGSTOP to the Erlang VM, PID \(vm): " + (frozen.map { "stopped (state T) after \(Self.ms($0))" } ?? "state \(Self.state(vm) ?? "?")"),
            holds: frozen != nil)
        let ping = try? await cluster.ctl(node, ["ping"], tool: "rabbitmq-diagnostics", timeout: .seconds(5))
        record.observe("rabbitmq-diagnostics ping: " + (ping == nil ? "no answer within 5 s" : "it answered"), holds: ping == nil)
        // Whether the other two elect a leader while this one is silent: observed, not required.
        // Until they declare it down, the others' CLI answers wait on the frozen node: then nothing is known.
        var moved: (node: Int, after: Duration)?
        var answered = false
        while moved == nil, configuration.pause - (ContinuousClock.now - start) > .seconds(2) {
            let left = configuration.pause - (ContinuousClock.now - start)
            let now = try? await cluster.leader(of: queue, excluding: [lead], timeout: min(.seconds(5), left - .seconds(1)))
            if now != nil { answered = true }
            if let now, now != lead {
                moved = (now, ContinuousClock.now - start)
            } else {
                try await Task.sleep(for: .seconds(1))
            }
        }
        let left = configuration.pause - (ContinuousClock.now - start)
        if left > .zero { try await Task.sleep(for: left) }
        let ackedDuring = simulator.status().acked - ackedBefore
        try cluster.signal(lead, SIGCONT)
        let thawed = try await waitUntil(timeout: .seconds(2)) { Self.state(vm)?.hasPrefix("T") == false }
        record.observe(
            moved.map { "node \($0.node) led the queue \(Self.ms($0.after)) into the pause" }
                ?? (answered
                    ? "no other node took the lead during the pause"
                    : "the other nodes answered no `list_queues` during the pause (they were still waiting on the frozen one)"))
        record.observe("\(ackedDuring) readings acknowledged to devices while the node was frozen")
        record.observe("SIGCONT after \(Self.ms(ContinuousClock.now - start)): running again", holds: thawed != nil)
        try await expectRejoined(lead, &record)
        if let now = try? await cluster.leader(of: queue) { record.observe("node \(now) leads after the pause") }
    }

    /// The node is back in the cluster as its peers see it.
    private func expectRejoined(_ index: Int, _ record: inout FaultRecord) async throws {
        let cluster = cluster!
        let peer = cluster.nodes.first { $0.index != index }!
        let name = cluster.nodes[index - 1].name
        // After a pause: on 4.x the thawed node is back in 0.7–1.6 s; on 3.10 autoheal restarts it (7–71 s).
        let back = try await waitUntil(timeout: .seconds(120)) {
            guard let out = try? await cluster.ctl(peer, ["cluster_status", "--formatter", "json"], timeout: .seconds(15)),
                let status = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any],
                let running = status["running_nodes"] as? [String]
            else { return false }
            return running.contains(name)
        }
        record.observe(
            back.map { "node \(index) running in the cluster again (\(Self.ms($0)) to confirm)" } ?? "node \(index) not back within 120 s",
            holds: back != nil)
    }

    private func stopDatabase(_ record: inout FaultRecord) async throws {
        let postgres = postgres!
        record.target = "postgresql"
        let pid = postgres.pid
        let start = ContinuousClock.now
        await postgres.stop(immediate: true)
        let refused = postgres.connectionError()
        record.observe(
            "immediate shutdown (SIGQUIT, as in a crash): postmaster PID \(pid.map(String.init) ?? "?") \(pid.map(RabbitCluster.isAlive) == false ? "gone" : "STILL RUNS"); "
                + "a new connection \(refused.map { "failed: \(Self.firstLine($0))" } ?? "WORKED")",
            holds: pid.map(RabbitCluster.isAlive) == false && refused != nil)
        try await Task.sleep(for: .seconds(2))
        let readiness = try? await fleet!.get("analyzer-1", "/readyz")
        record.observe("analyzer-1 /readyz during the outage: \(readiness.map { "\($0.status)" } ?? "no answer")")
        let left = configuration.databaseOutage - (ContinuousClock.now - start)
        if left > .zero { try await Task.sleep(for: left) }
        try await postgres.start()
        let error = postgres.connectionError()
        record.observe(
            "started again after \(Self.ms(ContinuousClock.now - start)) as PID \(postgres.pid.map(String.init) ?? "?"); "
                + (error.map { "a connection failed: \(Self.firstLine($0))" } ?? "connections work"), holds: error == nil)
        // The analyzers commit again: both ready.
        for name in ["analyzer-1", "analyzer-2"] {
            let ready = try await fleet!.waitUntilReady(name)
            record.observe("\(name) ready again \(Self.ms(ready)) after the start")
        }
    }

    private func makeDatabaseReadOnly(_ record: inout FaultRecord) async throws {
        let postgres = postgres!
        record.target = "postgresql (read-only)"
        let start = ContinuousClock.now
        let admin = try SQLConnection(postgres.url(), applicationName: "chaos")
        try admin.execute("ALTER DATABASE pipeline SET default_transaction_read_only = on")
        // Sessions take the default when they start: end the analyzers' so that they reconnect into it.
        let ended = try admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'pipeline' AND application_name = 'pipeline-analyzer'")
        record.observe("writes refused from now on; \(ended.rows.count) analyzer session(s) ended")
        let refused = await (try? waitUntil(timeout: .seconds(20)) {
            guard let r = try? await fleet!.get("analyzer-1", "/readyz") else { return false }
            return r.status == 503 && r.body.contains("read-only")
        }) ?? nil
        record.observe(
            refused.map { "analyzer-1 /readyz 503 naming the read-only transaction \(Self.ms($0)) in" }
                ?? "analyzer-1 /readyz did not report the read-only database within 20 s", holds: refused != nil)
        let left = configuration.databaseOutage - (ContinuousClock.now - start)
        if left > .zero { try await Task.sleep(for: left) }
        try admin.execute("ALTER DATABASE pipeline RESET default_transaction_read_only")
        record.observe("writes accepted again after \(Self.ms(ContinuousClock.now - start))")
        for name in ["analyzer-1", "analyzer-2"] {
            let ready = try await fleet!.waitUntilReady(name)
            record.observe("\(name) ready again \(Self.ms(ready)) after that")
        }
    }

    /// Polls `condition` every 100 ms; returns how long it took to hold, nil on timeout;
    /// throws when the run is cancelled.
    func waitUntil(timeout: Duration, _ condition: () async -> Bool) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if await condition() { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// The `State:` of a process from /proc (`T (stopped)`, `S (sleeping)` …).
    static func state(_ pid: Int32) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("State:") })
        else { return nil }
        return line.dropFirst("State:".count).trimmingCharacters(in: .whitespaces)
    }

    static func ms(_ d: Duration) -> String {
        let ms = Double(d / .microseconds(1)) / 1000
        return ms >= 1000 ? String(format: "%.1f s", ms / 1000) : String(format: "%.0f ms", ms)
    }

    static func firstLine(_ s: String) -> String {
        String(s.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
