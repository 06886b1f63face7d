import Foundation

/// Short-lived helper programs (initdb, pg_ctl, openssl, rabbitmqctl), run to
/// the end with their output captured, as another user when root must not run them.
enum Command {
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, user: String? = nil,
        timeout: Duration = .seconds(120), capturesOutput: Bool = true
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
        // A daemon it starts (the postmaster) inherits its output: a pipe would then never reach its end.
        let pipe = Pipe()
        process.standardOutput = capturesOutput ? pipe : FileHandle.nullDevice
        process.standardError = capturesOutput ? pipe : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A CLI call to a frozen node would wait for ever: end it after `timeout`.
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            kill(pid, SIGKILL)  // cancelled as soon as the process ends, so the PID is still its own
        }
        defer { watchdog.cancel() }
        let data = capturesOutput ? try await Task.detached { try pipe.fileHandleForReading.readToEnd() ?? Data() }.value : Data()
        // Polled: Foundation's waitUntilExit spins a run loop on Linux.
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        let out = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            if process.terminationReason == .uncaughtSignal {
                throw ChaosError("\(name) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            throw ChaosError("\(name) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(out.suffix(400))")
        }
        return out
    }
}
