# Every target only calls a script in scripts/; see README.md.
.PHONY: all build demo test bench chaos stack-up stack-down clean

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

## Faults on a 3-node RabbitMQ cluster, PostgreSQL and the services; fails if an acknowledged reading is lost.
chaos:
	@scripts/chaos.sh $(ARGS)

## Start / stop the local RabbitMQ and PostgreSQL alone: eval "$$(make -s stack-up)"
stack-up:
	@scripts/stack.sh up

stack-down:
	@scripts/stack.sh down

clean:
	@scripts/stack.sh down --purge || true
	rm -rf .build .local
