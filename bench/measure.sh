#!/bin/sh
# measure.sh runs the measurements docs/PERFORMANCE.md reports and writes
# their raw output to OUT (default ./perf-out). It needs benchstat:
#   GOBIN=/tmp/gobin go install golang.org/x/perf/cmd/benchstat@latest
# and takes about 35 minutes on 2 cores.
set -eu
OUT=${1:-perf-out}
BENCHSTAT=${BENCHSTAT:-benchstat}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."

{ go version; grep -m1 'model name' /proc/cpuinfo; nproc; uptime; } > "$OUT/machine.txt"

# Floor ratios: Login and a call with 1k sessions, ten runs each.
go test -run '^$' -bench 'Login$|Call/sessions=1k/' -count 10 ./bench/ > "$OUT/floor.txt"
"$BENCHSTAT" -col /impl "$OUT/floor.txt" > "$OUT/floor.benchstat"

# Cost against live sessions: 1k, 10k, 100k, 1M, both handlers.
go test -run '^$' -bench 'Call/sessions=' -count 5 -timeout 60m ./bench/ > "$OUT/sessions.txt"
"$BENCHSTAT" -col /sessions "$OUT/sessions.txt" > "$OUT/sessions.benchstat"

# 1k against 1M sessions, fakebill alone, ten runs: the flatness target.
go test -run '^$' -bench 'Call/sessions=(1k|1M)/impl=fakebill' -count 10 -timeout 30m ./bench/ > "$OUT/1k-1M.txt"
"$BENCHSTAT" -col /sessions "$OUT/1k-1M.txt" > "$OUT/1k-1M.benchstat"

# Concurrency: every core calling at once.
go test -run '^$' -bench 'CallParallel' -cpu 1,2 -count 5 ./bench/ > "$OUT/parallel.txt"
"$BENCHSTAT" -col /impl "$OUT/parallel.txt" > "$OUT/parallel.benchstat"

# Leak scan within a call, the journal, and the detector alone.
go test -run '^$' -bench 'CallLeakScan|Journal' -count 5 ./bench/ > "$OUT/leak-journal.txt"
go test -run '^$' -bench 'Scan' -count 5 ./internal/leak/ > "$OUT/leak-detector.txt"

# A whole conformance run against the reference client.
go test -run '^$' -bench 'Catalog' -count 5 ./conformance/ > "$OUT/conformance.txt"

# The standalone binary under load and soak.
go build -o "$OUT/fakebill" ./cmd/fakebill
for n in 1 4 16 64; do
	go run ./cmd/fakebill-load -spawn "$OUT/fakebill" -clients $n -requests 200000 \
		-json "$OUT/load-$n.json" > "$OUT/load-$n.txt" || true
done
go run ./cmd/fakebill-load -spawn "$OUT/fakebill" -clients 8 -requests 200000 -idle-sessions 1000000 \
	-json "$OUT/load-idle1M.json" > "$OUT/load-idle1M.txt" || true
go run ./cmd/fakebill-load -spawn "$OUT/fakebill" -soak -sessions 1000000 -cycles 3 -duration 10m \
	-json "$OUT/soak.json" > "$OUT/soak.txt" || true
