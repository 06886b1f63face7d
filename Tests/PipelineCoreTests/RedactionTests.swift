import PipelineCore
import Testing

@Suite struct RedactionTests {
    @Test func passwordsOfURLsAndConnectionStringsAreHidden() {
        #expect(Redaction.connectionString("amqp://guest:s3cret@127.0.0.1:5672/%2f") == "amqp://guest:***@127.0.0.1:5672/%2f")
        #expect(
            Redaction.connectionString("amqps://a:p1@n1:5671/%2f,amqps://a:p:2@n2:5671/%2f")
                == "amqps://a:***@n1:5671/%2f,amqps://a:***@n2:5671/%2f")
        #expect(Redaction.connectionString("postgresql://app:pw@db:26257/pipeline?sslmode=verify-full")
            == "postgresql://app:***@db:26257/pipeline?sslmode=verify-full")
        #expect(Redaction.connectionString("postgresql://postgres@127.0.0.1:5432/pipeline") == "postgresql://postgres@127.0.0.1:5432/pipeline")
        #expect(Redaction.connectionString("host=db user=app password=pw dbname=x") == "host=db user=app password=*** dbname=x")
        #expect(Redaction.connectionString("host=db password='a b\\' c' dbname=x") == "host=db password=*** dbname=x")
    }
}
