import Foundation
import NIOConcurrencyHelpers

/// Short-lived programs (initdb, openssl, rabbitmqctl, the pipeline's own commands in
/// the tests), run to the end with their output captured: the one way this package's
/// tools and tests run a subprocess.
package enum Command {
    /// How a program ended.
    package struct Outcome: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String
        /// Whether it exited with status 0.
        package var succeeded: Bool
    }

    /// Runs the program and returns its standard output; throws with its standard error when it
    /// fails, when it takes longer than `timeout` (a CLI call to a frozen node would wait for ever),
    /// or when the calling task is cancelled (the program is killed).
    @discardableResult
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, user: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> String {
        let name = "\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.joined(separator: " "))"
        let outcome = try await self.outcome(executable, arguments, environment: environment, user: user, timeout: timeout)
        guard outcome.succeeded else {
            let output = (outcome.stderr.isEmpty ? outcome.stdout : outcome.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ChaosError("\(name) failed (\(outcome.status)): \(output.suffix(400))")
        }
        return outcome.stdout
    }

    /// Runs the program to its end, whatever its exit status; throws only when it cannot start,
    /// takes longer than `timeout` or the calling task is cancelled (the program is then killed).
    /// The waiting happens on a Dispatch thread, not on one of the few threads tasks run on.
    package static func outcome(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, user: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Outcome {
        let running = try Running(executable, arguments, environment: environment, user: user)
        let outcome = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
                DispatchQueue.global().async { continuation.resume(with: Result { try running.finish(timeout: timeout) }) }
            }
        } onCancel: {
            running.kill()
        }
        try Task.checkCancellation()
        return outcome
    }

    /// `outcome`, for a caller outside Swift concurrency: blocks the calling thread.
    package static func waitingForOutcome(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, user: String? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> Outcome {
        try Running(executable, arguments, environment: environment, user: user).finish(timeout: timeout)
    }

    /// A started program.
    final class Running: @unchecked Sendable {
        let process = Process()
        let name: String
        private let out = Pipe(), err = Pipe()

        init(_ executable: String, _ arguments: [String], environment: [String: String]?, user: String?) throws {
            if let user, getuid() == 0 {
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
                process.arguments = ["-u", user, "--", executable] + arguments
            } else {
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
            }
            if let environment { process.environment = environment }
            process.currentDirectoryURL = URL(fileURLWithPath: "/")
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            name = "\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.joined(separator: " "))"
            try process.run()
        }

        func kill() { Command.killGroup(process.processIdentifier) }

        /// Reads both pipes to their end and waits for the exit, killing the program after `timeout`.
        func finish(timeout: Duration) throws -> Outcome {
            let pid = process.processIdentifier
            let timedOut = NIOLockedValueBox(false)
            let watchdog = DispatchWorkItem {
                timedOut.withLockedValue { $0 = true }
                Command.killGroup(pid)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout / .nanoseconds(1))), execute: watchdog)
            let errData = NIOLockedValueBox(Data())
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group) { [err] in
                let data = (try? err.fileHandleForReading.readToEnd()) ?? Data()
                errData.withLockedValue { $0 = data }
            }
            let outData = (try? out.fileHandleForReading.readToEnd()) ?? Data()
            group.wait()
            // Polled: Foundation's waitUntilExit spins a run loop on Linux.
            while process.isRunning { usleep(10_000) }
            watchdog.cancel()  // the process is gone: its PID must not be signalled any more
            if timedOut.withLockedValue({ $0 }) { throw ChaosError("\(name) did not finish within \(timeout)") }
            let exited = process.terminationReason == .exit
            return Outcome(
                status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                stderr: String(decoding: errData.withLockedValue { $0 }, as: UTF8.self), succeeded: exited && process.terminationStatus == 0)
        }
    }

    /// SIGKILL to the program and every process it started: Foundation starts it in a process group
    /// of its own, and RabbitMQ's CLI tools are shell scripts whose Erlang runs as a child, which
    /// would keep the output pipes open (and the call waiting) for as long as it waits on a frozen node.
    static func killGroup(_ pid: pid_t) {
        if getpgid(pid) == pid { kill(-pid, SIGKILL) } else { kill(pid, SIGKILL) }
    }
}
