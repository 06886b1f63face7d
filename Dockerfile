# One image for every service (`pipeline ingest|analyzer|alerts|migrate|token`)
# and the device simulator (`simulator`). Kubernetes probes /healthz and
# /readyz, so the image carries no HEALTHCHECK.
#
#   docker build -t iot-pipeline:dev .
#   docker run --rm iot-pipeline:dev --help

# ---- build: Swift toolchain and the C libraries' headers
FROM swift:6.3.1-bookworm AS build
# Debian's own versions of the -dev packages, from the pinned base image's suite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq-dev libpq-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY simulator ./simulator
# Not built, but SwiftPM loads every target of the package.
COPY Tests ./Tests
# The Swift runtime is linked in: the runtime image needs only the C libraries.
RUN swift build -c release --static-swift-stdlib --product pipeline \
    && swift build -c release --static-swift-stdlib --product simulator \
    && mkdir -p /out \
    && cp "$(swift build -c release --static-swift-stdlib --show-bin-path)/pipeline" \
          "$(swift build -c release --static-swift-stdlib --show-bin-path)/simulator" /out/

# ---- runtime: what the binaries link, certificates, nothing else
FROM debian:bookworm-slim
# Security updates of these libraries come with Debian's own versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq4 libpq5 libssl3 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pipeline \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pipeline
COPY --from=build /out/pipeline /out/simulator /usr/local/bin/
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# ingest TCP and HTTP(S), alerts; the admin listeners of ingest, analyzer and alerts
EXPOSE 7070 8443 8080 9101 9100 9102
ENTRYPOINT ["/usr/local/bin/pipeline"]
CMD ["--help"]
