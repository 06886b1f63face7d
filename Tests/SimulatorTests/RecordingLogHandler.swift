import Logging
import NIOConcurrencyHelpers

/// Keeps every log entry, so tests can check what the simulator said.
struct RecordingLogHandler: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    final class Store: Sendable {
        private let box = NIOLockedValueBox<[Entry]>([])
        var entries: [Entry] { box.withLockedValue { $0 } }
        func append(_ e: Entry) { box.withLockedValue { $0.append(e) } }
    }

    let store: Store
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        store.append(Entry(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" }))
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in RecordingLogHandler(store: store) }, store)
    }
}
