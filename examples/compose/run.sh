#!/usr/bin/env bash
# Runs the compose example end to end:
#
#   1. builds the static binaries the images hold (fakebill, the Go adapter
#      and whoami) and the two images, FROM scratch: nothing is pulled;
#   2. starts fakebill and waits for its healthcheck to report healthy;
#   3. runs the one-shot client (whoami), which reaches the fake by its
#      service name;
#   4. drives the Go reference client through its adapter, moves the fake's
#      clock 35 minutes through the control API, and checks from the
#      journal that the client logged in again and replayed the call;
#   5. runs `fakebill audit -url http://fakebill:8080` inside the compose
#      network, and `fakebill conform` inside the client's container;
#   6. tears everything down, whatever happened.
#
# It needs Go, curl, and docker with either `docker compose` or
# docker-compose. Set FAKEBILL_COMPOSE_PROJECT to run several at once.
# Exit status 0 means every step passed.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
project=${FAKEBILL_COMPOSE_PROJECT:-fakebill-example}

if docker compose version >/dev/null 2>&1; then
	compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	echo "run.sh: neither 'docker compose' nor docker-compose is installed" >&2
	exit 2
fi
compose() { "${compose_cmd[@]}" -f "$here/docker-compose.yml" -p "$project" "$@"; }
step() { printf '\nrun.sh: %s\n' "$*"; }
die() {
	printf 'run.sh: FAIL: %s\n' "$*"
	exit 1
}

cleanup() {
	status=$?
	if ((status != 0)); then
		echo "run.sh: fakebill's log:"
		compose logs --no-color fakebill 2>&1 | tail -n 40 || true
	fi
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	exit "$status"
}
trap cleanup EXIT

step "building static binaries"
# The fakebill image is built from the repository's own Dockerfile, staged
# with a fresh static binary under dist/ so the checkout stays clean.
stage=$here/dist/fakebill-image
mkdir -p "$stage/dist"
(
	cd "$root"
	export CGO_ENABLED=0
	go build -trimpath -o "$stage/dist/fakebill" ./cmd/fakebill
	go build -trimpath -o "$here/dist/goadapter" ./examples/adapters/go
	go build -trimpath -o "$here/dist/whoami" ./examples/compose/whoami
)
cp "$root/Dockerfile" "$root/.dockerignore" "$stage/"
cp "$stage/dist/fakebill" "$here/dist/fakebill"

step "building images (FROM scratch, no pulls)"
compose build

step "starting fakebill and waiting for its healthcheck"
compose up -d fakebill
container=$(compose ps -q fakebill)
health=""
for _ in $(seq 60); do
	health=$(docker inspect -f '{{.State.Health.Status}}' "$container")
	[[ $health == healthy ]] && break
	sleep 1
done
echo "fakebill health: $health"
[[ $health == healthy ]] || die "fakebill did not become healthy"
hostport=$(compose port fakebill 8080)
hostport=${hostport/0.0.0.0/127.0.0.1}
control="http://$hostport/_fakebill"
echo "control API on the host: $control"

step "one-shot client: whoami, reaching the fake by its service name"
out=$(compose run --rm -T client /whoami)
echo "$out"
grep -qx 'apiEndPoint: http://fakebill:8080/api/v2' <<<"$out" ||
	die "apiEndPoint does not name the host the client used"

step "long-lived client: call, 35 idle minutes, call"
mark=$(curl -fsS "$control/journal?since=0" | grep -o '"seq":[0-9]*' | tail -n 1 | cut -d: -f2)
mark=${mark:-0}
coproc ADAPTER { compose run --rm -T client /goadapter; }
exec {to_adapter}>&"${ADAPTER[1]}" {from_adapter}<&"${ADAPTER[0]}"
request() {
	local answer
	printf '%s\n' "$1" >&"$to_adapter"
	IFS= read -r -t 60 answer <&"$from_adapter" || die "no answer to $1"
	echo "  -> $1"
	echo "  <- $answer"
	[[ $answer == *'"ok":true'* ]] || die "request failed: $answer"
}
request '{"id":0,"op":"hello","protocol":1}'
request '{"id":1,"op":"call","path":"GetSessionInfo.json","data":{}}'
curl -fsS -X POST "$control/clock/advance" -d '{"by":"35m"}' >/dev/null
echo "  (clock moved 35 minutes: $(curl -fsS "$control/clock"))"
request '{"id":2,"op":"call","path":"GetSessionInfo.json","data":{}}'
request '{"id":3,"op":"close"}'
exec {to_adapter}>&- {from_adapter}<&-
wait "$ADAPTER_PID" || die "the adapter exited with status $?"

# The journal since the mark, one "op code" pair per request.
steps=$(curl -fsS "$control/journal?since=$mark" | sed 's/{"v":/\n/g' | while IFS= read -r entry; do
	[[ $entry =~ \"op\":\"([^\"]*)\" ]] || continue
	op=${BASH_REMATCH[1]}
	code=ok
	[[ $entry =~ \"code\":\"([^\"]*)\" ]] && code=${BASH_REMATCH[1]}
	echo "$op $code"
done)
echo "requests the fake saw:"
sed 's/^/  /' <<<"$steps"
want=$'Login ok\nGetSessionInfo ok\nGetSessionInfo BDC_1109\nLogin ok\nGetSessionInfo ok\nLogout ok'
[[ $steps == "$want" ]] || die "the client did not log in again and replay exactly once"
echo "the client logged in again after the expiry and replayed its call"

step "audit of the fake's journal, from inside the compose network"
compose run --rm -T client /fakebill audit -url http://fakebill:8080 ||
	die "audit found problems in the client's traffic"

step "conformance run inside the client's container"
compose run --rm -T --no-deps client /fakebill conform -- /goadapter ||
	die "the client failed conformance checks"

step "done: every step passed"
