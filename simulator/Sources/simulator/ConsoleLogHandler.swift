import Foundation
import Logging

/// Log lines on stderr as `simulator: message key=value …`. On a terminal each
/// line first clears the live status line, which is redrawn after it.
struct ConsoleLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let clearsLine: Bool

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let level = event.level >= .warning ? "\(event.level) " : ""
        let text = "\(clearsLine ? "\r\u{1B}[K" : "")simulator: \(level)\(event.message)\(fields.isEmpty ? "" : " " + fields)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
