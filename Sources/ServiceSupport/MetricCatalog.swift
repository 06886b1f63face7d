/// The `# HELP` text of every metric the services expose, in one place.
///
/// swift-metrics' API has no help text, so the exposition adds it from here; a
/// metric missing from this table fails `promtool check metrics` in the tests.
package enum MetricCatalog {
    package static let help: [String: String] = [
        "amqp_confirm_latency_seconds": "Time from publishing a message to the broker's confirm.",
        "amqp_messages_published_total": "Broker messages published; amqp_readings_published_total over it is the readings per message.",
        "amqp_readings_published_total": "Readings published, in amqp_messages_published_total messages.",
        "amqp_publisher_blocked": "1 while the broker blocks publishing (a memory or disk alarm), else 0.",
        "amqp_publishes_in_flight": "Readings published or queued for the broker and not yet confirmed.",
        "analyzer_anomalies_total": "Anomalies stored, by metric name.",
        "analyzer_incidents_total": "Incidents opened and closed, by change.",
        "analyzer_batch_size": "Readings per database transaction (a broker message carries one or more).",
        "analyzer_db_seconds": "Time of one batch's database transaction, retries included.",
        "analyzer_ingest_to_commit_seconds": "Time from a reading's acceptance at ingest to its commit.",
        "analyzer_database_errors_total": "Failed attempts to store a batch, by SQLSTATE; the batch is kept and retried.",
        "analyzer_dead_letters": "Messages waiting in the dead-letter queue (pipeline dead-letters list shows them).",
        "analyzer_readings_total": "Readings handled (a broker message carries one or more), by result: stored, duplicate, conflict (a reused seq with other content) or dead_lettered.",
        "analyzer_redeliveries_total": "Deliveries the broker marked as redelivered.",
        "analyzer_verdicts_revised_total": "Earlier verdicts revised after a reading arrived out of order.",
        "analyzer_window_cache_total": "Window lookups served from memory (hit) or the database (miss).",
        "http_request_duration_seconds": "Time to answer an HTTP request, by route, method and status.",
        "http_requests_total": "HTTP requests answered, by route, method and status.",
        "ingest_connections_refused_total": "Device connections refused at once, by reason: too_many_connections, too_many_from_address.",
        "ingest_ack_latency_seconds": "Time from receiving a reading to acknowledging it, by transport.",
        "ingest_readings_total": "Readings received, by transport and result.",
        "ingest_tcp_connections": "Open device TCP connections.",
        "ingest_tls_certificate_expiry_timestamp_seconds": "When the TLS certificate ingest serves expires (Unix time).",
        "ingest_tls_reloads_total": "Renewed TLS certificate files read, by result: loaded, or failed (the previous pair stays).",
    ]
}
