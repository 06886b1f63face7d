import Foundation
import Logging

/// What every bench phase is given: the stack it runs against, its settings
/// (`BENCH_*`), and which phases `BENCH_ONLY` asked for.
struct BenchContext: Sendable {
    var amqpURL: String
    var databaseURL: String
    /// The TLS certificate and key of the listeners under test.
    var cert: String
    var key: String
    /// How long each timed phase runs.
    var seconds: Double
    var simulatedAnomalyRate: Double
    var endToEndDevices: Int
    /// Makes this run's queue, device and table names its own.
    var suffix: String
    var logger: Logger
    var only: Set<String>

    /// A reading as the ingest phases send it.
    var sample: [UInt8] { Array(IngestLoad.reading("dev-0001", 1).utf8) }

    func wanted(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
}
