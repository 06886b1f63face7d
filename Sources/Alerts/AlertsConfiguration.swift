package import PipelineCore

/// Everything the alerts API needs; `pipeline alerts` fills it from flags and environment.
package struct AlertsConfiguration: Sendable {
    package var host: String
    package var port: Int
    /// The admin listener's port (`/metrics`, `/readyz` with its checks, `/kill`).
    package var adminPort: Int
    package var databaseURL: String
    /// Connections (and so concurrent queries) at most: one slow query holds one of them only.
    package var poolSize: Int
    /// Longer queries are cancelled by the database and answered 503.
    package var statementTimeoutMs: Int
    /// The analyzer's rule, for the bands the page draws.
    package var rule: AnomalyRule
    package var killEnabled: Bool
    /// Every API route needs a reader key (`pipeline reader issue`); off only for local experiments.
    package var readerKeys: Bool

    package init(
        host: String = "0.0.0.0", port: Int = 8080, adminPort: Int = 9102, databaseURL: String, poolSize: Int = 4,
        statementTimeoutMs: Int = 2000, rule: AnomalyRule = .default, killEnabled: Bool = false,
        readerKeys: Bool = true
    ) {
        self.host = host
        self.port = port
        self.adminPort = adminPort
        self.databaseURL = databaseURL
        self.poolSize = poolSize
        self.statementTimeoutMs = statementTimeoutMs
        self.rule = rule
        self.killEnabled = killEnabled
        self.readerKeys = readerKeys
    }
}
