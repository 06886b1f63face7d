import Foundation

/// One chaos run; `chaos --help` documents each setting.
package struct ChaosConfiguration: Sendable {
    /// The `pipeline` executable whose services are put under fault.
    package var pipelineBinary: String
    /// The checkout's `scripts/`: its `rabbitmq.sh` runs the cluster's nodes (see `RabbitCluster`),
    /// its `postgres.sh` the database (see `PostgresServer`).
    package var scripts: String
    /// Where the cluster, the database, the logs and the report go (created).
    package var directory: String
    package var devices: Int
    /// Seconds between readings of one device.
    package var interval: Duration
    package var faults: [ChaosFault]
    /// Traffic before the first fault.
    package var warmup: Duration
    /// Time between a fault's recovery and the next fault, so each gap and its retries belong to one fault.
    package var settle: Duration
    /// How long a killed process or node stays down before it is started again.
    package var downtime: Duration
    /// How long PostgreSQL stays stopped.
    package var databaseOutage: Duration
    /// How long a node stays frozen.
    package var pause: Duration
    /// rabbitmq.conf lines of every node beyond the cluster's own; nil: what the manifests carry for the
    /// version that runs (`RabbitCluster.defaultSettings`). Set, each one can be measured with and without.
    package var brokerSettings: [String]?
    /// Longest wait for the acknowledged readings to reach the database once the devices stop.
    package var drainTimeout: Duration

    package init(
        pipelineBinary: String, scripts: String, directory: String, devices: Int = 200, interval: Duration = .seconds(1),
        faults: [ChaosFault] = ChaosFault.allCases, warmup: Duration = .seconds(20), settle: Duration = .seconds(15),
        downtime: Duration = .seconds(5), databaseOutage: Duration = .seconds(15), pause: Duration = .seconds(20),
        drainTimeout: Duration = .seconds(120), brokerSettings: [String]? = nil
    ) {
        self.pipelineBinary = pipelineBinary
        self.scripts = scripts
        self.directory = directory
        self.devices = devices
        self.interval = interval
        self.faults = faults
        self.warmup = warmup
        self.settle = settle
        self.downtime = downtime
        self.databaseOutage = databaseOutage
        self.pause = pause
        self.drainTimeout = drainTimeout
        self.brokerSettings = brokerSettings
    }

    /// The version `make test` runs: fewer devices and faults, under 4 minutes.
    package static func short(pipelineBinary: String, scripts: String, directory: String) -> ChaosConfiguration {
        ChaosConfiguration(
            pipelineBinary: pipelineBinary, scripts: scripts, directory: directory, devices: 50, interval: .milliseconds(500),
            faults: [.ingestKill, .analyzerKill, .leaderKill, .databaseStop, .databaseReadOnly], warmup: .seconds(8), settle: .seconds(6),
            downtime: .seconds(2), databaseOutage: .seconds(5), pause: .seconds(10), drainTimeout: .seconds(60))
    }
}
