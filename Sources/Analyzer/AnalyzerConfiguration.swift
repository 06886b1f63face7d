package import AMQPClient
package import PipelineCore

/// Everything the analyzer needs; `pipeline analyzer` fills it from flags and environment.
package struct AnalyzerConfiguration: Sendable {
    package var amqp: AMQPConfiguration
    /// libpq connection string or URL (several hosts allowed).
    package var databaseURL: String
    package var rule: AnomalyRule
    /// What opens, extends and closes incidents (the same settings as `pipeline detect`).
    package var incidentRule: IncidentRule
    /// Deliveries the broker may have outstanding on this consumer.
    package var prefetch: Int
    /// Readings stored per transaction at most (a message is not split: a batch ends
    /// with the message that reaches it).
    package var batchSize: Int
    /// How long a batch waits for more deliveries once it has one.
    package var batchWindow: Duration
    /// The analyzer session's `statement_timeout` and `lock_timeout`: a statement that
    /// runs or waits longer is cancelled and its batch retried as an outage.
    package var statementTimeoutMs: Int
    package var lockTimeoutMs: Int
    /// Metric names with a series of their own in `analyzer_anomalies_total`; later ones count as `other`.
    package var metricLabelLimit: Int

    package init(
        amqp: AMQPConfiguration, databaseURL: String, rule: AnomalyRule = .default, incidentRule: IncidentRule = .default, prefetch: Int = 2000,
        batchSize: Int = 1000, batchWindow: Duration = .milliseconds(20), statementTimeoutMs: Int = 30_000,
        lockTimeoutMs: Int = 10_000, metricLabelLimit: Int = 32
    ) {
        self.metricLabelLimit = metricLabelLimit
        self.statementTimeoutMs = statementTimeoutMs
        self.lockTimeoutMs = lockTimeoutMs
        self.amqp = amqp
        self.databaseURL = databaseURL
        self.rule = rule
        self.incidentRule = incidentRule
        self.prefetch = prefetch
        self.batchSize = batchSize
        self.batchWindow = batchWindow
    }
}
