import Foundation
import PipelineCore
import SQL
import Storage
import Testing

extension Integration {
    /// The web page, rendered by headless Chromium against a live alerts service.
    /// Screenshots go to /tmp/pipeline-test-artifacts (not in git).
    @Suite struct AlertsPageTests {
        static let artifacts = "/tmp/pipeline-test-artifacts"

        /// Runs headless Chromium on `url` and returns its stdout (the DOM after scripts ran, with `--dump-dom`).
        static func chromium(_ url: String, _ arguments: [String]) throws -> String {
            guard let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile)
            else {
                throw TestStack.StackError("chromium is not installed: run scripts/install-deps.sh (Debian package 'chromium')")
            }
            let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: profile) }
            // Virtual time runs the page's timers and fetches to completion, then Chromium dumps or shoots.
            let (status, output) = try TestStack.run(
                binary,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--user-data-dir=\(profile)", "--virtual-time-budget=8000", "--hide-scrollbars",
                ] + arguments + [url])
            guard status == 0 else { throw TestStack.StackError("chromium exited \(status)") }
            return output
        }

        /// Every match of `pattern`'s first capture group in `text`.
        static func captures(_ pattern: String, in text: String) throws -> [String] {
            let regex = try NSRegularExpression(pattern: pattern)
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                Range($0.range(at: 1), in: text).map { String(text[$0]) }
            }
        }

        /// The page's script is a file of its own (`Sources/Alerts/Resources/page.js`): Node parses it
        /// without running it, so a syntax error fails here with its line, not as a blank page.
        @Test func thePageScriptParses() throws {
            let script = TestStack.root + "/Sources/Alerts/Resources/page.js"
            let (status, output) = try TestStack.run("/usr/bin/node", ["--check", script], withErrors: true)
            #expect(status == 0, "\(output)")
        }

        @Test func pageRendersTheAnomaliesTableAndADevicePlotFromTheAPI() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            let a = AlertsFixture.series("ward-3.bed-12", count: 260, spikes: [100, 230, 250])
            try AlertsFixture.store(a, acceptedAtMs: Int64(Date().timeIntervalSince1970 * 1000), on: db)
            try AlertsFixture.store(AlertsFixture.series("ward-3.bed-14", count: 120, spikes: [60, 90]), on: db)
            try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)

            let key = try stack.issueReaderKey("page-test")

            try await stack.running(stack.alerts(readerKeys: true).services) {
                let client = try await stack.alertsClient()
                let origin = "http://127.0.0.1:\(stack.alertsPort)/"
                // Each Chromium run is a new browser session: the link hands it the key, then the view.
                let base = origin + "#key=\(key)&"

                // Without a key, or with a wrong one, the page asks for one and shows no data.
                let none = try Self.chromium(origin + "#/", ["--dump-dom"])
                #expect(none.contains(#"id="key-form""#) && none.contains("This page needs a reader key"), "\(none.suffix(2000))")
                #expect(!none.contains("ward-3.bed-"))
                let wrong = try Self.chromium(origin + "#key=rk1_" + String(repeating: "A", count: 43), ["--dump-dom"])
                #expect(wrong.contains(#"id="key-form""#) && wrong.contains("was refused"), "\(wrong.suffix(2000))")
                #expect(!wrong.contains("ward-3.bed-"))
                let api = try await AlertsTests.get(client, "/v1/anomalies?limit=100", key: key)
                let expected = api.items.map { "\($0["device_id"]!)/\($0["seq"]!)/\($0["metric"]!)" }
                #expect(expected.count >= 5)

                // The list: one row per anomaly the API serves, in its order, with its values.
                let list = try Self.chromium(base + "/", ["--dump-dom"])
                let rows = try Self.captures(#"<tr class="[^"]*" data-key="([^"]+)""#, in: list)
                #expect(rows == expected, "rendered rows \(rows)")
                let first = api.items[0]
                let firstValue = try #require(first["value"] as? Double)
                #expect(firstValue == firstValue.rounded())  // the spikes are whole numbers, shown as such
                #expect(list.contains(">\(Int(firstValue))<"), "value \(firstValue) of the newest anomaly is shown")
                #expect(list.contains("live · updated"))
                #expect(list.contains(#"<button type="button" id="forget-key" class="secondary">Forget key"#), "forget offered")

                // Filtered by device and metric.
                let filtered = try Self.chromium(base + "/?device_id=ward-3.bed-14&metric=heart_rate", ["--dump-dom"])
                let filteredRows = try Self.captures(#"<tr class="[^"]*" data-key="([^"]+)""#, in: filtered)
                #expect(filteredRows == expected.filter { $0.hasPrefix("ward-3.bed-14/") && $0.hasSuffix("/heart_rate") })
                #expect(!filteredRows.isEmpty)

                // The device view: one plot per metric of the last 200 readings, the
                // anomalies among them marked, and the band drawn.
                let device = try Self.chromium(base + "/devices/ward-3.bed-12", ["--dump-dom"])
                let own = try await AlertsTests.get(client, "/v1/devices/ward-3.bed-12/anomalies?limit=1000", key: key)
                for metric in ["heart_rate", "spo2"] {
                    let marked = own.items.filter { $0["metric"] as? String == metric && ($0["seq"] as? Int ?? 0) >= 60 }
                    let svg = try #require(
                        try Self.captures(#"(<svg class="chart"[^>]*data-metric="\#(metric)"[^>]*>.*?</svg>)"#, in: device).first,
                        "no plot for \(metric)")
                    #expect(try Self.captures(#"data-points="(\d+)""#, in: svg) == ["200"])
                    let circles = try Self.captures(#"<circle class="anomaly"[^>]*data-seq="(\d+)""#, in: svg)
                    #expect(Set(circles) == Set(marked.map { "\($0["seq"]!)" }), "\(metric): \(circles)")
                    #expect(svg.contains(#"class="band""#) && svg.contains(#"class="median""#))
                }
                #expect(device.contains("data-seq=\"230\"") && device.contains("data-seq=\"250\""))

                // Screenshots for a person to look at: laptop and phone.
                _ = try Self.chromium(base + "/", ["--window-size=1280,900", "--screenshot=\(Self.artifacts)/alerts-list.png"])
                _ = try Self.chromium(
                    base + "/devices/ward-3.bed-12", ["--window-size=1280,1000", "--screenshot=\(Self.artifacts)/alerts-device.png"])
                _ = try Self.chromium(
                    base + "/devices/ward-3.bed-12", ["--window-size=390,1200", "--screenshot=\(Self.artifacts)/alerts-device-phone.png"])
                for name in ["alerts-list", "alerts-device", "alerts-device-phone"] {
                    let size = (try? FileManager.default.attributesOfItem(atPath: "\(Self.artifacts)/\(name).png")[.size] as? Int) ?? 0
                    #expect(size > 10_000, "\(name).png")
                }
                await client.close()
            }
        }
    }
}
