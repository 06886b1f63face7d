# Every target only calls a script in scripts/; see README.md.
.PHONY: all build demo test bench stack-up stack-down clean

all: build

build:
	@scripts/install-deps.sh
	swift build

## The main job: local stack, the three services and 100 simulated devices.
demo:
	@scripts/demo.sh

## The whole test suite against the real broker and database (what CI runs).
test:
	@scripts/test.sh

## Benchmarks: a table of figures, also written to bench-results.json (BENCH_ONLY=name,… for a subset).
bench:
	@scripts/bench.sh

## Start / stop the local RabbitMQ and PostgreSQL alone: eval "$$(make -s stack-up)"
stack-up:
	@scripts/stack.sh up

stack-down:
	@scripts/stack.sh down

clean:
	@scripts/stack.sh down --purge || true
	rm -rf .build .local
