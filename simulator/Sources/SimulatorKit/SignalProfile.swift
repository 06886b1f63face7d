/// How close the simulated signals are to a real wristband's.
package enum SignalProfile: String, Sendable, CaseIterable {
    /// Bounded noise, one decimal, no artifacts, short level shifts: made for the
    /// per-reading rule, whose figures on it are exact.
    case clean
    /// What real signals have: heavy-tailed noise, whole-number values (SpO2 whose MAD
    /// collapses), brief motion artifacts that are not anomalies, more baseline wander;
    /// injected level shifts and drifts last tens of readings, as episodes do.
    case realistic
}
