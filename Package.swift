// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // An import is internal unless it says otherwise: what a module's declarations expose is visible in its imports.
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "iot-pipeline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pipeline", targets: ["pipeline"]),
        .executable(name: "simulator", targets: ["simulator"]),
        .executable(name: "chaos", targets: ["chaos"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0", traits: []),
    ],
    targets: [
        // Pure core: reading model, strict JSON codec, anomaly rule, retry schedule. No I/O.
        .target(name: "PipelineCore", swiftSettings: swiftSettings),
        // Configuration from the environment, read one way by every executable: unparseable is an error.
        .target(
            name: "EnvironmentVariables",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // rabbitmq-c and a thread-confined Swift wrapper with publisher confirms.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(
            name: "AMQPClient",
            dependencies: [
                "CRabbitMQ", "PipelineCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // libpq and a small Swift wrapper: parameters, transactions that retry 40001, a pool.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "SQL",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Schema and the statements/queries of readings and anomalies.
        .target(name: "Storage", dependencies: ["PipelineCore", "SQL"], swiftSettings: swiftSettings),

        // Health, readiness, metrics and TLS helpers every service mounts.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "PipelineCore", "SQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // libcrypto for the HMAC of device tokens and the hashes of reader keys; the credentials themselves.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "DeviceAuth", dependencies: ["CCrypto", "PipelineCore"], swiftSettings: swiftSettings),
        .target(
            name: "Ingest",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "PipelineCore", "AMQPClient", "ServiceSupport", "DeviceAuth", "SQL", "Storage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Analyzer",
            dependencies: [
                "PipelineCore", "AMQPClient", "SQL", "Storage", "ServiceSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Alerts",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "PipelineCore", "SQL", "Storage", "ServiceSupport", "DeviceAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            // The page and the OpenAPI document as files (tools and editors read them), compiled in.
            resources: [
                .embedInCode("Resources/page.html"), .embedInCode("Resources/page.css"), .embedInCode("Resources/page.js"),
                .embedInCode("Resources/openapi.yaml"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "pipeline",
            dependencies: [
                "EnvironmentVariables",
                "AMQPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "Ingest", "Analyzer", "Alerts", "Storage", "SQL", "ServiceSupport", "DeviceAuth", "PipelineCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // make bench: figures of each part, beside the raw capacity of the same broker and database.
        .executableTarget(
            name: "bench",
            dependencies: [
                "EnvironmentVariables",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "AMQPClient", "CRabbitMQ", "DeviceAuth", "Ingest", "Analyzer", "Alerts", "SQL", "Storage", "ServiceSupport",
                "ChaosKit", "SimulatorKit", "PipelineCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),

        // The device simulator: device models, connections, retry loop, report.
        .target(
            name: "SimulatorKit",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "PipelineCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "simulator/Sources/SimulatorKit",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "simulator",
            dependencies: [
                "EnvironmentVariables",
                "SimulatorKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "simulator/Sources/simulator",
            swiftSettings: swiftSettings
        ),

        // Fault injection: processes it answers for, a RabbitMQ cluster and a database it can break,
        // the whole pipeline under a fault schedule, and the loss check.
        .target(
            name: "ChaosKit",
            dependencies: [
                "SimulatorKit", "SQL", "Storage", "DeviceAuth",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chaos",
            dependencies: ["EnvironmentVariables", "ChaosKit", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "PipelineCoreTests", dependencies: ["PipelineCore"], swiftSettings: swiftSettings),
        .testTarget(name: "AMQPClientTests", dependencies: ["AMQPClient"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestUnitTests",
            dependencies: [
                "Ingest", "AMQPClient", "PipelineCore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                "SimulatorKit", "PipelineCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "PipelineCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "Ingest", "Analyzer", "Alerts", "Storage", "SQL", "AMQPClient", "SimulatorKit", "ServiceSupport", "DeviceAuth",
                "ChaosKit", "CRabbitMQ",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
