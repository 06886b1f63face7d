import Foundation
import Logging
import SimulatorKit

/// Log lines on stderr as `simulator: message key=value …`. On a terminal each
/// line first clears the live status line, which is redrawn after it.
struct ConsoleLogHandler: DictionaryMetadataLogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let clearsLine: Bool

    func log(event: LogEvent) {
        let fields = metadata(of: event).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let level = event.level >= .warning ? "\(event.level) " : ""
        let text = "\(clearsLine ? "\r\u{1B}[K" : "")simulator: \(level)\(event.message)\(fields.isEmpty ? "" : " " + fields)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
