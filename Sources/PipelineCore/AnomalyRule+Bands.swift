extension AnomalyRule {
    /// The band each of `values` (one device's metric, oldest first) was judged
    /// against: its window is the values before it in this list, then `history`
    /// (the values before the first, newest first). Nil where the history was
    /// too short for a verdict.
    package func rollingBands(values: [Double], history: [Double]) -> [AnomalyBand?] {
        // Newest first: the window of values[i] is the first windowSize entries
        // of values[i-1], …, values[0], history[0], ….
        var window = Array(history.prefix(windowSize).reversed())
        var bands: [AnomalyBand?] = []
        bands.reserveCapacity(values.count)
        for value in values {
            bands.append(band(window: window.reversed()))
            window.append(value)
            if window.count > windowSize { window.removeFirst() }
        }
        return bands
    }
}
