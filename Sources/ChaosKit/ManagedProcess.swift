import Foundation

/// A process this run started and answers for: its PID, its log file, signals
/// sent to that PID only, and a stop that escalates from SIGTERM to SIGKILL.
package final class ManagedProcess: @unchecked Sendable {
    package let name: String
    private let process = Process()

    package init(name: String, executable: String, arguments: [String], environment: [String: String], log: String) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            throw ChaosError("cannot create the log file \(log)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    package var pid: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }
    /// Its exit status, or the signal that ended it; nil while it runs.
    package var terminationStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    /// Whether a signal ended it.
    package var endedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }
    /// How it ended: `exit 137`, `signal 9`; nil while it runs.
    package var exit: String? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal
            ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    package func signal(_ signal: Int32) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// Waits until the process has exited, at most `timeout` (less when the task is cancelled); true if it has.
    package func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }

    /// SIGTERM (with SIGCONT, in case a fault froze it), then SIGKILL after `grace`.
    package func stop(grace: Duration = .seconds(10)) async {
        signal(SIGCONT)
        signal(SIGTERM)
        if await !waitForExit(timeout: grace) {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }
}

/// What went wrong in a chaos run, said plainly.
package struct ChaosError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
