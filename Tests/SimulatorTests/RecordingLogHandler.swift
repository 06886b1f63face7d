import Logging
import NIOConcurrencyHelpers
import SimulatorKit

/// Keeps every log entry, so tests can check what the simulator said.
struct RecordingLogHandler: DictionaryMetadataLogHandler {
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

    func log(event: LogEvent) {
        store.append(Entry(level: event.level, message: "\(event.message)", metadata: metadata(of: event).mapValues { "\($0)" }))
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in RecordingLogHandler(store: store) }, store)
    }
}
