import Foundation

/// Short-lived helper programs (initdb, openssl, rabbitmqctl), run to the end
/// with their output captured, as another user when root must not run them.
enum Command {
    /// Runs the program and returns its standard output; throws with its standard error when it
    /// fails, when it takes longer than `timeout` (a CLI call to a frozen node would wait for ever),
    /// or when the calling task is cancelled (the program is killed).
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, user: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> String {
        let process = Process()
        if let user, getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", user, "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let name = "\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.joined(separator: " "))"
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Task { () -> Bool in
            do { try await Task.sleep(for: timeout) } catch { return false }
            killGroup(pid)  // cancelled as soon as the process ends, so the PID is still its own
            return true
        }
        let (stdout, stderr) = await withTaskCancellationHandler {
            async let o = readToEnd(out)
            async let e = readToEnd(err)
            return await (o, e)
        } onCancel: {
            killGroup(pid)
        }
        // Polled: Foundation's waitUntilExit spins a run loop on Linux.
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        watchdog.cancel()
        let timedOut = await watchdog.value
        try Task.checkCancellation()
        if timedOut { throw ChaosError("\(name) did not finish within \(timeout)") }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let output = (stderr.isEmpty ? stdout : stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ChaosError("\(name) failed (\(process.terminationStatus)): \(output.suffix(400))")
        }
        return stdout
    }

    /// SIGKILL to the program and every process it started: Foundation starts it in a process group
    /// of its own, and RabbitMQ's CLI tools are shell scripts whose Erlang runs as a child, which
    /// would keep the output pipes open (and the call waiting) for as long as it waits on a frozen node.
    private static func killGroup(_ pid: pid_t) {
        if getpgid(pid) == pid { kill(-pid, SIGKILL) } else { kill(pid, SIGKILL) }
    }

    /// Reads a pipe to its end on a Dispatch thread: a blocking read must not hold one of the
    /// few threads Swift concurrency runs tasks on (two on this machine).
    private static func readToEnd(_ pipe: Pipe) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = (try? pipe.fileHandleForReading.readToEnd()) ?? Data()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }
}
