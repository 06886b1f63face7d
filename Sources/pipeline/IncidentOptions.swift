import ArgumentParser
import EnvironmentVariables
import PipelineCore
import ServiceSupport

/// When evidence opens, extends and closes an incident: the analyzer and
/// `pipeline detect` read the same variables, so both open the same incidents.
struct IncidentOptions: ParsableArguments {
    @Option(help: "Rule score a reading must exceed to be evidence (env: INCIDENT_MIN_SCORE).")
    var incidentMinScore: Double = Env.double("INCIDENT_MIN_SCORE") ?? IncidentRule.default.minScore

    @Option(help: "Readings in the short trimmed mean (env: INCIDENT_MEAN_LENGTH).")
    var incidentMeanLength: Int = Env.int("INCIDENT_MEAN_LENGTH") ?? IncidentRule.default.meanLength

    @Option(help: "Score the short mean must be from the window's median (env: INCIDENT_MEAN_SCORE).")
    var incidentMeanScore: Double = Env.double("INCIDENT_MEAN_SCORE") ?? IncidentRule.default.meanScore

    @Option(help: "Seqs of history a record covers (env: INCIDENT_RECORD_SPAN).")
    var incidentRecordSpan: Int64 = Env.int64("INCIDENT_RECORD_SPAN") ?? IncidentRule.default.recordSpan

    @Option(help: "Seqs without evidence that close an incident (env: INCIDENT_CLOSE_AFTER).")
    var incidentCloseAfter: Int64 = Env.int64("INCIDENT_CLOSE_AFTER") ?? IncidentRule.default.closeAfter

    func validate() throws {
        let d = IncidentRule.default
        guard incidentMinScore > 0, incidentMeanScore > 0 else { throw ValidationError("incident scores must be positive") }
        guard incidentMeanLength > 2 * d.meanTrim else {
            throw ValidationError("--incident-mean-length must exceed \(2 * d.meanTrim)")
        }
        guard incidentRecordSpan >= d.recordBlock else {
            throw ValidationError("--incident-record-span must be at least \(d.recordBlock)")
        }
        guard incidentCloseAfter >= 1 else { throw ValidationError("--incident-close-after must be at least 1") }
    }

    /// The anomaly window must cover what the incident rule reads of it.
    func validate(window: Int) throws {
        guard window >= rule.smallestWindow else {
            throw ValidationError("--window must be at least \(rule.smallestWindow) for these incident settings")
        }
    }

    var rule: IncidentRule {
        IncidentRule(
            minScore: incidentMinScore, meanLength: incidentMeanLength, meanScore: incidentMeanScore,
            recordSpan: incidentRecordSpan, closeAfter: incidentCloseAfter)
    }
}
