package import Logging

/// A log handler whose metadata is a plain dictionary: the subscript swift-log asks
/// for, and an event's metadata merged over it. The simulator's console handler and
/// the tests' recording one both are.
package protocol DictionaryMetadataLogHandler: LogHandler {}

extension DictionaryMetadataLogHandler {
    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The handler's metadata with the event's over it.
    package func metadata(of event: LogEvent) -> Logger.Metadata {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        return all
    }
}
