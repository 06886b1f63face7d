/// The on-call page at `/`, with its style and script at `/page.css` and
/// `/page.js` (no CDN, works offline; no inline script or style, so the
/// content security policy can forbid them). It reads only the public API,
/// with the reader key the person enters (or a `#key=` link hands it).
/// `#/` lists the incidents (open ones on top) and then the newest anomalies,
/// live (short polling) and filterable; `#/devices/{id}` plots a device's last
/// readings per metric with its anomalies and the rule's band, and with
/// `?metric=&from=&to=` (an incident's link) the readings around that episode,
/// marked.
/// The files are `Resources/page.html`, `page.css` and `page.js`, compiled into the binary
/// (`embedInCode`), so a container needs no resource bundle beside the executable.
enum AlertsPage {
    static let html = String(decoding: PackageResources.page_html, as: UTF8.self)
    static let css = String(decoding: PackageResources.page_css, as: UTF8.self)
    static let script = String(decoding: PackageResources.page_js, as: UTF8.self)
}
