import AMQPClient
import ArgumentParser
import Foundation
import PipelineCore
import ServiceSupport

struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "Show the dead-letter queue, and put its readings back once the cause is fixed.",
        discussion: """
            A message is dead-lettered when the analyzer cannot store it because of its own data (invalid JSON, a \
            value the database refuses, a seq the device reused with other content), or by the broker after \
            AMQP_DELIVERY_LIMIT deliveries. Database outages never dead-letter anything.
            """,
        subcommands: [List.self, Replay.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the dead letters (oldest first) with their reason; they stay in the queue.")

        @OptionGroup var broker: BrokerOptions

        @Option(help: "Dead letters to print at most.")
        var limit: Int = 100

        @Flag(help: "One JSON object per line: message_id, reason, format (x-pipeline-format, or null), body.")
        var json = false

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be >= 1") }
        }

        func run() throws {
            let (total, items) = try DeadLetterQueue(configuration: broker.configuration).list(limit: limit)
            for d in items {
                let body = String(decoding: d.body, as: UTF8.self)
                if json {
                    print(
                        "{\"message_id\":\(jsonString(d.messageID ?? "")),\"reason\":\(jsonString(d.deadLetterReason ?? "")),"
                            + "\"format\":\(d.format.map(jsonString) ?? "null"),\"body\":\(jsonString(body))}")
                } else {
                    // A packed message (dead-lettered whole by the broker) holds a reading per line.
                    let shown = body.prefix(200).replacingOccurrences(of: "\n", with: "\\n")
                    print("\(d.messageID ?? "-")\t\(d.deadLetterReason ?? "-")\t\(shown)")
                }
            }
            if !json {
                print("\(total) dead letter(s) in '\(broker.configuration.deadLetterQueue)'\(items.count < total ? ", \(items.count) shown" : "")")
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move dead letters back into the readings queue, each confirmed there before it leaves the dead-letter queue.")

        @OptionGroup var broker: BrokerOptions

        @Option(help: "Dead letters to replay at most (default: all that are there when the replay starts).")
        var limit: Int = Int.max

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be >= 1") }
        }

        func run() throws {
            let moved = try DeadLetterQueue(configuration: broker.configuration).replay(limit: limit)
            print("replayed \(moved) dead letter(s) into '\(broker.configuration.queue)'")
        }
    }
}
