import Foundation
import SimulatorKit

/// The live status: on a terminal one line redrawn every second; otherwise a
/// plain log line every ten seconds (so logs and CI output stay readable).
struct StatusPrinter {
    enum Mode: String, CaseIterable {
        case auto, terminal, lines, off
    }

    let onTerminal: Bool
    let enabled: Bool

    init(_ mode: Mode) {
        switch mode {
        case .auto: onTerminal = isatty(STDERR_FILENO) == 1; enabled = true
        case .terminal: onTerminal = true; enabled = true
        case .lines: onTerminal = false; enabled = true
        case .off: onTerminal = false; enabled = false
        }
    }

    /// Prints the simulator's status until cancelled.
    func run(_ simulator: Simulator) async {
        guard enabled else { return }
        let period: Duration = onTerminal ? .seconds(1) : .seconds(10)
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if Task.isCancelled { break }
            let line = simulator.status().line
            let text = onTerminal ? "\r\u{1B}[K\(line)" : "simulator: status \(line)\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
        if onTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
