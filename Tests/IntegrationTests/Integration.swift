import Testing

/// Every integration test shares one RabbitMQ node and one PostgreSQL server
/// (and some stop the broker on purpose), so they run one at a time.
@Suite(.serialized) struct Integration {}
