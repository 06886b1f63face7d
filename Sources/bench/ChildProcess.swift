import Foundation

/// A service the benchmark starts as a process of its own (as in production:
/// its own file-descriptor limit, its own memory to measure), stopped with
/// SIGTERM, then SIGKILL if it does not exit within 10 s.
final class ChildProcess {
    let name: String
    private let process = Process()

    init(name: String, executable: String, arguments: [String], environment: [String: String], log: String) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw BenchError("cannot create \(log)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
