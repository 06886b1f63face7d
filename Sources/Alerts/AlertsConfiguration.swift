/// Everything the alerts API needs; `pipeline alerts` fills it from flags and environment.
public struct AlertsConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databaseURL: String
    public var poolSize: Int
    public var statementTimeoutMs: Int
    public var killEnabled: Bool

    public init(
        host: String = "0.0.0.0", port: Int = 8080, databaseURL: String, poolSize: Int = 4,
        statementTimeoutMs: Int = 5000, killEnabled: Bool = false
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.poolSize = poolSize
        self.statementTimeoutMs = statementTimeoutMs
        self.killEnabled = killEnabled
    }
}
