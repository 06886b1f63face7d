import Foundation
import PipelineCore
import SQL
import Storage
import Testing

extension Integration.AlertsPageTests {
    /// The page lists incidents before anomalies, open ones on top, and an incident's link
    /// plots the device's readings around its episode with the episode marked.
    @Test func pageShowsIncidentsFirstAndLinksEachToItsMarkedEpisode() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        // 900 readings: the episode at 300...304 is far older than the newest 200.
        try AlertsFixture.store(AlertsFixture.series("ward-5.bed-1", count: 900, spikes: [300, 302, 304, 880]), on: db)
        try AlertsFixture.store(AlertsFixture.series("ward-5.bed-2", count: 100), on: db)
        var episode = AlertsFixture.incident("ward-5.bed-1", "heart_rate", seq: 300, open: false)
        episode.incident.lastSeq = 304
        try AlertsFixture.storeIncidents([episode], on: db)
        try AlertsFixture.storeIncidents(
            [AlertsFixture.incident("ward-5.bed-1", "heart_rate", seq: 880, open: true),
             AlertsFixture.incident("ward-5.bed-2", "spo2", seq: 90, open: false)], on: db)
        let key = try stack.issueReaderKey("page-incidents")

        try await stack.running(stack.alerts(readerKeys: true).services) {
            // Connecting waits until the service listens (Chromium does not: it dumps nothing on a refused connection).
            let client = try await stack.alertsClient()
            let base = "http://127.0.0.1:\(stack.alertsPort)/#key=\(key)&"
            let list = try Self.chromium(base + "/", ["--dump-dom"])
            // Open first, then closed ones newest first (the two closed share an opening transaction: by device, descending).
            let rows = try Self.captures(#"<tr data-incident="([^"]+)""#, in: list)
            #expect(rows == ["ward-5.bed-1/heart_rate/880", "ward-5.bed-2/spo2/90", "ward-5.bed-1/heart_rate/300"], "\(rows)")
            let incidentsAt = try #require(list.range(of: #"id="incidents""#)).lowerBound
            let anomaliesAt = try #require(list.range(of: #"id="anomalies""#)).lowerBound
            #expect(incidentsAt < anomaliesAt, "incidents come first")
            #expect(list.contains("above the highest value"))
            let link = try #require(
                try Self.captures(#"<a href="(#/devices/ward-5\.bed-1\?[^"]*from=300[^"]*)""#, in: list).first, "link to the episode")
            #expect(link.contains("metric=heart_rate") && link.contains("to=304"))

            // The link: readings around the episode (not the newest 200), the episode marked on its metric only.
            let plot = try Self.chromium(base + String(link.dropFirst()).replacingOccurrences(of: "&amp;", with: "&"), ["--dump-dom"])
            let heart = try #require(
                try Self.captures(#"(<svg class="chart"[^>]*data-metric="heart_rate"[^>]*>.*?</svg>)"#, in: plot).first, "no heart_rate plot")
            #expect(try Self.captures(#"data-points="(\d+)""#, in: heart) == ["155"])
            #expect(try Self.captures(#"<rect class="episode"[^>]*data-from="(\d+)""#, in: heart) == ["300"])
            #expect(try Self.captures(#"<rect class="episode"[^>]*data-to="(\d+)""#, in: heart) == ["304"])
            let circles = Set(try Self.captures(#"<circle class="anomaly"[^>]*data-seq="(\d+)""#, in: heart))
            #expect(circles.isSuperset(of: ["300", "302", "304"]) && !circles.contains("880"), "\(circles)")
            let spo2 = try #require(try Self.captures(#"(<svg class="chart"[^>]*data-metric="spo2"[^>]*>.*?</svg>)"#, in: plot).first)
            #expect(!spo2.contains("episode"))
            #expect(plot.contains("around the incident"))
            // The devices list: the device with an open incident first, with its counts.
            let devices = try Self.chromium(base + "/devices", ["--dump-dom"])
            let order = try Self.captures(##"<a href="#/devices/([^"?]+)">"##, in: devices)
            #expect(order == ["ward-5.bed-1", "ward-5.bed-2"], "\(order)")
            try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
            _ = try Self.chromium(base + "/", ["--window-size=1280,900", "--screenshot=\(Self.artifacts)/alerts-incidents.png"])
            _ = try Self.chromium(
                base + String(link.dropFirst()).replacingOccurrences(of: "&amp;", with: "&"),
                ["--window-size=1280,1000", "--screenshot=\(Self.artifacts)/alerts-episode.png"])
            await client.close()
        }
    }
}
