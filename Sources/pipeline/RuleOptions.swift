import ArgumentParser
import EnvironmentVariables
import PipelineCore
import ServiceSupport

/// The anomaly rule's parameters: the analyzer judges with them and the
/// alerts page draws its bands with them, so both read the same variables.
struct RuleOptions: ParsableArguments {
    @Option(help: "Earlier readings a value is compared with (env: ANOMALY_WINDOW).")
    var window: Int = Env.int("ANOMALY_WINDOW") ?? 200

    @Option(help: "Earlier readings needed before any verdict (env: ANOMALY_MIN_HISTORY).")
    var minHistory: Int = Env.int("ANOMALY_MIN_HISTORY") ?? 30

    @Option(help: "Robust z-score above which a value is an anomaly (env: ANOMALY_THRESHOLD).")
    var threshold: Double = Env.double("ANOMALY_THRESHOLD") ?? 3.5

    func validate() throws {
        guard window >= 1, minHistory >= 1, minHistory <= window else {
            throw ValidationError("need 1 <= --min-history <= --window")
        }
        guard threshold > 0 else { throw ValidationError("--threshold must be positive") }
    }

    var rule: AnomalyRule { AnomalyRule(windowSize: window, minHistory: minHistory, threshold: threshold) }
}
