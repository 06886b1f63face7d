/// `GET /openapi.yaml`: the alerts API as it behaves (the integration tests
/// validate real responses of every operation and status against it, and the
/// document itself as OpenAPI 3.1). The file is `Resources/openapi.yaml`,
/// compiled into the binary (`embedInCode`), so a container needs no resource files.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
