/// Character-level checks of the wire format, kept free of Foundation so they are cheap.
package enum Validation {
    /// `A-Z a-z 0-9 . _ : -`, 1–64 characters.
    package static func isValidDeviceID(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard !utf8.isEmpty, utf8.count <= ReadingLimits.maxDeviceIDLength else { return false }
        return utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == 0x2E || c == 0x5F || c == 0x3A || c == 0x2D
        }
    }

    /// `a-z 0-9 _`, 1–64 characters.
    package static func isValidMetricName(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard !utf8.isEmpty, utf8.count <= ReadingLimits.maxMetricNameLength else { return false }
        return utf8.allSatisfy { c in (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F }
    }

    /// Checks the reading's fields against the contract; returns the first problem found.
    package static func problem(in r: Reading) -> String? {
        if !isValidDeviceID(r.deviceID) {
            return "device_id must be 1-64 characters of A-Z a-z 0-9 . _ : -"
        }
        if r.seq < 0 || r.seq > ReadingLimits.maxSeq { return "seq must be an integer from 0 to 2^53-1" }
        if r.metrics.isEmpty || r.metrics.count > ReadingLimits.maxMetrics {
            return "metrics must have 1-32 entries"
        }
        for (name, value) in r.metrics {
            if !isValidMetricName(name) { return "metric name '\(name.prefix(80))' must be 1-64 characters of a-z 0-9 _" }
            if !value.isFinite { return "metric '\(name)' must be a finite number" }
        }
        return nil
    }
}
