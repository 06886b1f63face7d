import Metrics
import NIOConcurrencyHelpers
import ServiceSupport

/// The analyzer's metric handles, made once: a handle made per batch or per reading asks the
/// metrics backend to look its series up again each time, and the worker does that thousands of
/// times a second. Every series exists at zero from the start, so a dashboard's `rate()` has one
/// before the first event.
struct AnalyzerMetrics: Sendable {
    let stored = Counter(label: "analyzer_readings_total", dimensions: [("result", "stored")])
    let duplicates = Counter(label: "analyzer_readings_total", dimensions: [("result", "duplicate")])
    let conflicts = Counter(label: "analyzer_readings_total", dimensions: [("result", "conflict")])
    let deadLettered = Counter(label: "analyzer_readings_total", dimensions: [("result", "dead_lettered")])
    let cacheHits = Counter(label: "analyzer_window_cache_total", dimensions: [("result", "hit")])
    let cacheMisses = Counter(label: "analyzer_window_cache_total", dimensions: [("result", "miss")])
    let redeliveries = Counter(label: "analyzer_redeliveries_total")
    let verdictsRevised = Counter(label: "analyzer_verdicts_revised_total")
    let incidentsOpened = Counter(label: "analyzer_incidents_total", dimensions: [("change", "opened")])
    let incidentsClosed = Counter(label: "analyzer_incidents_total", dimensions: [("change", "closed")])
    let batchSize = Recorder(label: "analyzer_batch_size")
    let ingestToCommit = Timer(label: "analyzer_ingest_to_commit_seconds")
    let databaseTime = Timer(label: "analyzer_db_seconds")
    let deadLetterDepth = Gauge(label: "analyzer_dead_letters")
    /// Metric names come from devices: a bounded set of them label the anomaly counter.
    private let metricLabels: BoundedLabelValues
    private let anomalyCounters = NIOLockedValueBox<[String: Counter]>([:])

    init(metricLabelLimit: Int) {
        metricLabels = BoundedLabelValues(limit: metricLabelLimit)
    }

    /// `analyzer_anomalies_total` of the metric (or of `other`, beyond the label limit).
    func anomalies(of metric: String) -> Counter {
        let label = metricLabels.value(for: metric)
        return anomalyCounters.withLockedValue { counters in
            if let c = counters[label] { return c }
            let c = Counter(label: "analyzer_anomalies_total", dimensions: [("metric", label)])
            counters[label] = c
            return c
        }
    }

    /// `analyzer_database_errors_total` of an SQLSTATE: made on the error path only.
    func databaseError(sqlState: String?) -> Counter {
        Counter(label: "analyzer_database_errors_total", dimensions: [("sqlstate", sqlState ?? "none")])
    }
}
