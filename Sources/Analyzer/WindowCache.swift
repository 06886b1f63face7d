import PipelineCore
import Storage

/// The newest values of each series the analyzer has judged, its record and its
/// open incident, and for each device the version of it they reflect. Used by one
/// worker thread only.
final class WindowCache {
    typealias Key = ReadingStore.SeriesKey

    /// A series' incident state: its record, and its open incident if any.
    struct Tracked {
        var record: SeriesRecord
        var open: Incident?
    }

    /// What a committed batch changes.
    struct Update {
        /// Each series' newest values after the batch, oldest first.
        var series: [Key: [(seq: Int64, value: Double)]] = [:]
        var tracked: [Key: Tracked] = [:]
        /// Each device's version after the batch.
        var version: [String: Int64] = [:]
        /// Devices the cache must forget (late readings, incomplete fetches).
        var invalidate: Set<String> = []
    }

    private let capacity: Int
    private let maxDevices: Int
    private var series: [Key: [(seq: Int64, value: Double)]] = [:]
    private var tracked: [Key: Tracked] = [:]
    private var deviceVersion: [String: Int64] = [:]
    private var keysOfDevice: [String: Set<Key>] = [:]

    init(capacity: Int, maxDevices: Int) {
        self.capacity = capacity
        self.maxDevices = maxDevices
    }

    /// The series' newest values (oldest first) when the cache provably holds all of them:
    /// the device's stored version is the one the cache last saw. Nil otherwise.
    func values(_ key: Key, version: Int64) -> [(seq: Int64, value: Double)]? {
        guard deviceVersion[key.deviceID] == version else { return nil }
        return series[key]
    }

    /// The series' incident state, under the same condition.
    func tracked(_ key: Key, version: Int64) -> Tracked? {
        guard deviceVersion[key.deviceID] == version else { return nil }
        return tracked[key]
    }

    func apply(_ u: Update) {
        for d in u.invalidate { forget(d) }
        for (key, values) in u.series where !u.invalidate.contains(key.deviceID) {
            series[key] = Array(values.suffix(capacity))
            keysOfDevice[key.deviceID, default: []].insert(key)
        }
        for (key, t) in u.tracked where !u.invalidate.contains(key.deviceID) {
            tracked[key] = t
            keysOfDevice[key.deviceID, default: []].insert(key)
        }
        for (d, v) in u.version where !u.invalidate.contains(d) {
            deviceVersion[d] = v
        }
        if deviceVersion.count > maxDevices {
            series.removeAll()
            tracked.removeAll()
            deviceVersion.removeAll()
            keysOfDevice.removeAll()
        }
    }

    private func forget(_ device: String) {
        deviceVersion.removeValue(forKey: device)
        for k in keysOfDevice.removeValue(forKey: device) ?? [] {
            series.removeValue(forKey: k)
            tracked.removeValue(forKey: k)
        }
    }
}
