package import Foundation
package import Logging

/// Log lines appended to a file, for the in-process simulator: its retries,
/// logged as the contract says, would drown the run's own output on a terminal.
package struct FileLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    let file: FileHandle
    let label: String

    package init(label: String, file: FileHandle) {
        self.label = label
        self.file = file
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let time = Date().formatted(.iso8601.time(includingFractionalSeconds: true))
        file.write(Data("\(time) \(label) \(event.level) \(event.message)\(fields)\n".utf8))
    }
}
