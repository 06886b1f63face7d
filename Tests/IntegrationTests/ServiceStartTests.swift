import ChaosKit
import Foundation
import NIOPosix
import Testing

extension Integration {
    /// The real `pipeline` processes: a part that cannot start ends the process at once,
    /// and SIGTERM ends it in every state.
    @Suite struct ServiceStartTests {
        struct Run {
            var process: ManagedProcess
            var log: String
        }

        func launch(_ args: [String], amqpURL: String? = nil) throws -> Run {
            var env = ProcessInfo.processInfo.environment
            env["DEVICE_AUTH"] = "off"
            env["LOG_LEVEL"] = "error"
            env["AMQP_QUEUE"] = "start-\(UInt32.random(in: 0...UInt32.max))"
            if let amqpURL { env["AMQP_URL"] = amqpURL }
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("start-\(UUID().uuidString.prefix(8)).log").path
            let p = try ManagedProcess(name: "pipeline \(args[0])", executable: TestStack.pipelineBinary, arguments: args, environment: env, log: log)
            return Run(process: p, log: log)
        }

        /// Waits for the exit; kills the process and fails when it takes longer than `within`.
        /// Returns the status and what it wrote (its log: standard output and error).
        func exitStatus(_ run: Run, within: Duration) async throws -> (Int32, String) {
            guard await run.process.waitForExit(timeout: within), let status = run.process.terminationStatus else {
                run.process.signal(SIGKILL)
                throw TestStack.StackError("\(run.process.name) still running after \(within)")
            }
            return (status, (try? String(contentsOfFile: run.log, encoding: .utf8)) ?? "")
        }

        @Test func aServiceWhosePortIsTakenExitsWithinFiveSeconds() async throws {
            let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            defer { holder.close(promise: nil) }
            let taken = holder.localAddress!.port!
            let free = { try TestStack.freePort() }
            for (args, what) in [
                (["ingest", "--host", "127.0.0.1", "--http-port", "\(taken)", "--tcp-port", "\(try free())", "--admin-port", "\(try free())"], "HTTP"),
                (["ingest", "--host", "127.0.0.1", "--http-port", "\(try free())", "--tcp-port", "\(taken)", "--admin-port", "\(try free())"], "TCP"),
                (["ingest", "--host", "127.0.0.1", "--http-port", "\(try free())", "--tcp-port", "\(try free())", "--admin-port", "\(taken)"], "admin HTTP"),
                (["analyzer", "--host", "127.0.0.1", "--port", "\(taken)"], "admin HTTP"),
                (["alerts", "--host", "127.0.0.1", "--port", "\(taken)", "--admin-port", "\(try free())"], "HTTP"),
            ] {
                let (status, err) = try await exitStatus(try launch(args), within: .seconds(5))
                #expect(status != 0, "\(args)")
                // The last line says what could not listen, where, and why.
                let last = err.split(separator: "\n").last.map(String.init) ?? ""
                #expect(last.hasPrefix("Error: cannot serve \(what) on 127.0.0.1:\(taken): "), "\(args): \(err)")
                #expect(last.contains("Address already in use"), "\(args): \(err)")
            }
        }

        /// `--help` prints every option's default, which a variable set in the environment
        /// becomes: no password or secret of it may show.
        @Test func helpNeverPrintsASecret() throws {
            var env = ProcessInfo.processInfo.environment
            env["AMQP_URL"] = "amqp://pipeline:amqp-pw-1234@broker:5672/%2f"
            env["DATABASE_URL"] = "postgresql://app:db-pw-5678@db:5432/pipeline"
            env["DEVICE_TOKEN_SECRET"] = "token-secret-9012-abcdefghijklmnop"
            for command in [
                ["ingest"], ["analyzer"], ["alerts"], ["migrate"], ["token", "issue"], ["token", "revoke"],
                ["dead-letters", "list"], ["dead-letters", "replay"], ["reader", "issue"], ["reader", "revoke"], ["reader", "list"],
            ] {
                let (status, output) = try TestStack.run(TestStack.pipelineBinary, command + ["--help"], environment: env)
                #expect(status == 0, "\(command)")
                #expect(output.contains("--"), "\(command): no help printed")
                for secret in ["amqp-pw-1234", "db-pw-5678", "token-secret-9012"] {
                    #expect(!output.contains(secret), "\(command) --help prints \(secret)")
                }
            }
        }

        /// A variable that is set but unparseable is never taken for unset: the command stops at once
        /// with exit 64 (usage), naming each such variable, before it listens or connects to anything.
        @Test func anUnparseableVariableStopsTheCommandNamingIt() throws {
            let cases: [(command: [String], variables: [String: String], says: [String])] = [
                (["alerts"], ["ALERTS_PORT": "80a"], ["ALERTS_PORT='80a' is not an integer"]),
                (
                    ["ingest"], ["RATE_LIMIT": "fast", "KILL_ENABLED": "maybe"],
                    ["RATE_LIMIT='fast' is not a number", "KILL_ENABLED='maybe' is not on or off"]
                ),
                (["analyzer"], ["ANOMALY_THRESHOLD": "nan"], ["ANOMALY_THRESHOLD='nan' is not a number"]),
                (["analyzer"], ["LOG_LEVEL": "verbose"], ["LOG_LEVEL", "'verbose'"]),
                (["simulator", "run"], ["SIM_DEVICES": "ten"], ["SIM_DEVICES='ten' is not an integer"]),
                (["chaos"], ["CHAOS_PAUSE": "20s"], ["CHAOS_PAUSE='20s' is not a number"]),
                (["detect", "--input", "/nonexistent.csv"], ["INCIDENT_RECORD_SPAN": "1e3"], ["INCIDENT_RECORD_SPAN='1e3' is not an integer"]),
            ]
            // The simulator and the chaos harness read their variables the same way; they are built beside `pipeline`.
            let binaries = URL(fileURLWithPath: TestStack.pipelineBinary).deletingLastPathComponent()
            for c in cases {
                var env = ProcessInfo.processInfo.environment
                env.merge(c.variables) { $1 }
                let (binary, arguments) =
                    ["simulator", "chaos"].contains(c.command[0])
                    ? (binaries.appendingPathComponent(c.command[0]).path, Array(c.command.dropFirst()))
                    : (TestStack.pipelineBinary, c.command)
                let (status, output) = try TestStack.run(binary, arguments, environment: env, withErrors: true)
                #expect(status == 64, "\(c.command) \(c.variables): exit \(status)\n\(output)")
                for text in c.says { #expect(output.contains(text), "\(c.command): \(output)") }
            }
            // A flag given on the command line does not excuse the variable.
            var env = ProcessInfo.processInfo.environment
            env["ALERTS_PORT"] = "80a"
            let (status, _) = try TestStack.run(TestStack.pipelineBinary, ["alerts", "--port", "8081"], environment: env, withErrors: true)
            #expect(status == 64)
        }

        @Test func aMissingCertificateEndsIngestSayingWhichFile() async throws {
            let free = { try TestStack.freePort() }
            let run = try launch([
                "ingest", "--host", "127.0.0.1", "--http-port", "\(try free())", "--tcp-port", "\(try free())", "--admin-port",
                "\(try free())", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem",
            ])
            let (status, err) = try await exitStatus(run, within: .seconds(5))
            #expect(status != 0)
            let last = err.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasPrefix("Error: cannot load the TLS certificate /nonexistent/cert.pem"), "\(err)")
        }

        @Test func sigtermEndsAServiceWhileStartingAndWhileItsBrokerIsDown() async throws {
            let closed = "amqp://guest:guest@127.0.0.1:\(try TestStack.freePort())/%2f"
            for wait in [Duration.milliseconds(100), .seconds(3)] {
                for service in ["ingest", "analyzer"] {
                    let args =
                        service == "ingest"
                        ? [
                            "ingest", "--host", "127.0.0.1", "--http-port", "\(try TestStack.freePort())", "--tcp-port",
                            "\(try TestStack.freePort())", "--admin-port", "\(try TestStack.freePort())",
                        ]
                        : ["analyzer", "--host", "127.0.0.1", "--port", "\(try TestStack.freePort())"]
                    let run = try launch(args, amqpURL: closed)
                    try await Task.sleep(for: wait)
                    run.process.signal(SIGTERM)
                    let (status, err) = try await exitStatus(run, within: .seconds(10))
                    // Before its signal handlers are installed the default action ends it, as SIGTERM.
                    let ended = status == 0 || (run.process.endedBySignal && status == SIGTERM)
                    #expect(ended, "\(service) after \(wait): status \(status) \(err)")
                }
            }
        }
    }
}
