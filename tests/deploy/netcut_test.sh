#!/bin/sh
# A worker cut off by the network, twice, in a cluster across network namespaces: the PS in one,
# each of 4 workers in its own, joined by veth pairs to a bridge in the PS's namespace. N = 4,
# load 2, ell 1 (any one worker may be missing), --min-workers 3, 60 iterations with --verify,
# a checkpoint every 5 iterations and a CSV; heartbeats every 250 ms, so a peer silent for 1 s
# is lost.
#  1. w3's port on the bridge goes down for 3 s (a switch port failing: neither end gets an
#     error, its packets just vanish).
#  2. after w3 has rejoined, its uplink is throttled (tbf, 3 Mbit/s) so that its 160 KB Encoded
#     takes ~0.4 s to send; the moment its socket holds more than 16 KB unsent, w3's own eth0
#     goes down for 3 s, in the middle of the Encoded (the PS has half a frame, then silence).
# Required: the PS ends normally with every iteration 0..59 exact and verified (summary and CSV,
# each exactly once), the checkpoint written; the PS timed out on w3 after each cut, went on
# with the other three, and w3 rejoined (dashboard events) at a later iteration, both times
# before the last one; every worker, w3 included, ends with the PS's Shutdown (exit 0).
# Needs root, iproute2 (ip, tc, ss) and curl or wget; exit 77 (skipped) without them. Namespaces and
# processes are removed on every exit path.
#   netcut_test.sh PGC
set -u
pgc=$1
skip() { echo "netcut test skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for tool in ip tc ss; do
  command -v $tool >/dev/null 2>&1 || skip "$tool not found (apt-get install iproute2)"
done
if command -v curl >/dev/null 2>&1; then
  fetch="curl -s --max-time 2"
elif command -v wget >/dev/null 2>&1; then
  fetch="wget -q -T 2 -O -"
else
  skip "neither curl nor wget (to read the PS's dashboard state; apt-get install curl)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-netcut.XXXXXX")
id=${tmp##*.}  # random: namespaces left by a killed run do not collide with ours
ps_ns=pgc-cps-$id
w_ns="pgc-c0-$id pgc-c1-$id pgc-c2-$id pgc-c3-$id"
cut_ns=pgc-c3-$id
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  for ns in $ps_ns $w_ns; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
  echo "FAILED: $*"
  for f in "$tmp"/ps.log "$tmp"/w3.log; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# The last iteration the PS has logged (-1 before the first).
last_iteration() {
  sed -n 's/^iteration \([0-9]*\):.*/\1/p' "$tmp/ps.log" | tail -n 1 | grep . || echo -1
}
# The PS's dashboard state, from inside its namespace (the dashboard listens on its loopback).
state() {
  ip netns exec "$ps_ns" $fetch "http://127.0.0.1:7001/api/state" 2>/dev/null
}
# Waits up to $2 seconds for the PS's events to have $1 "worker 3 (w3) rejoined"; prints the
# iteration of the last one.
await_rejoin() {
  deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -le "$deadline" ]; do
    state >"$tmp/state.json"
    grep -o '"iteration":[0-9]*,"text":"worker 3 (w3) rejoined"' "$tmp/state.json" \
      >"$tmp/rejoins" 2>/dev/null
    if [ "$(wc -l <"$tmp/rejoins")" -ge "$1" ]; then
      tail -n 1 "$tmp/rejoins" | sed 's/"iteration":\([0-9]*\),.*/\1/'
      return 0
    fi
    kill -0 "$ps_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

ip netns add "$ps_ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip -n "$ps_ns" link set lo up
ip -n "$ps_ns" link add br0 type bridge || fail "no bridge"
ip -n "$ps_ns" addr add 10.77.0.1/24 dev br0
ip -n "$ps_ns" link set br0 up
n=0
for ns in $w_ns; do
  ip netns add "$ns" || fail "ip netns add $ns"
  ip -n "$ns" link set lo up
  ip link add eth0 netns "$ns" type veth peer name "port$n" netns "$ps_ns" || fail "veth"
  ip -n "$ps_ns" link set "port$n" master br0
  ip -n "$ps_ns" link set "port$n" up
  ip -n "$ns" addr add "10.77.0.$((n + 10))/24" dev eth0
  ip -n "$ns" link set eth0 up
  n=$((n + 1))
done
echo "namespaces: PS $ps_ns (10.77.0.1), workers w0..w3 in $w_ns (10.77.0.10-13)"

workers=4
iterations=60
hb="--heartbeat-ms 250"
data="--workload synthetic --dim 20000 --samples 400"
ip netns exec "$ps_ns" timeout 240 "$pgc" ps --listen 10.77.0.1:7000 --workers $workers --load 2 \
  --ell 1 --min-workers 3 --iterations $iterations $hb --verify --summary "$tmp/summary.json" \
  --csv "$tmp/run.csv" --checkpoint "$tmp/run.ckpt" --checkpoint-every 5 \
  --dashboard 127.0.0.1:7001 $data >"$tmp/ps.log" 2>&1 &
ps_pid=$!
pids="$pids $ps_pid"
for _ in $(seq 1 100); do
  grep -q "listening on" "$tmp/ps.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening on 10.77.0.1:7000" "$tmp/ps.log" || fail "the PS did not listen"
started=$(now)
worker_pids=""
w=0
for ns in $w_ns; do
  # 100 ms per chunk: an iteration takes a few hundred ms, so a cut spans several.
  ip netns exec "$ns" timeout 240 "$pgc" worker --connect 10.77.0.1:7000 --name "w$w" --id $w \
    --chunks $workers $hb --delay-model fixed:100 $data >"$tmp/w$w.log" 2>&1 &
  worker_pids="$worker_pids $!"
  pids="$pids $!"
  w=$((w + 1))
done

for _ in $(seq 1 600); do
  [ "$(last_iteration)" -ge 4 ] && break
  kill -0 "$ps_pid" 2>/dev/null || fail "the PS ended early"
  sleep 0.1
done
[ "$(last_iteration)" -ge 4 ] || fail "no iteration 4 within 60 s"

# Cut 1: w3's port on the bridge, 3 s.
cut1_iter=$(last_iteration)
cut1_at=$(since "$started")
ip -n "$ps_ns" link set port3 down || fail "port3 down"
sleep 3
ip -n "$ps_ns" link set port3 up || fail "port3 up"
up1_at=$(since "$started")
up1_iter=$(last_iteration)
echo "cut 1: w3's bridge port down at ${cut1_at} s (after iteration $cut1_iter), up after" \
     "iteration $up1_iter"
rejoin1_iter=$(await_rejoin 1 30) || fail "w3 did not rejoin within 30 s of cut 1"
echo "cut 1: w3 rejoined in iteration $rejoin1_iter, $(since "$started") s"

# Cut 2: throttle w3's uplink, then take its eth0 down while an Encoded is on its way.
ip netns exec "$cut_ns" tc qdisc add dev eth0 root tbf rate 3mbit burst 16kb latency 2s ||
  fail "tbf on w3's eth0"
sendq=0
for _ in $(seq 1 1000); do
  sendq=$(ip netns exec "$cut_ns" ss -tnH state established '( dport = :7000 )' |
    awk '{ print $2; exit }')
  [ "${sendq:-0}" -ge 16384 ] && break
  kill -0 "$ps_pid" 2>/dev/null || fail "the PS ended before cut 2"
  sleep 0.02
done
[ "${sendq:-0}" -ge 16384 ] || fail "w3 never had an Encoded in flight"
cut2_iter=$(last_iteration)
cut2_at=$(since "$started")
ip -n "$cut_ns" link set eth0 down || fail "w3's eth0 down"
echo "cut 2: w3's eth0 down at ${cut2_at} s (after iteration $cut2_iter) with $sendq bytes" \
     "unsent in its socket"
sleep 3
ip netns exec "$cut_ns" tc qdisc del dev eth0 root || fail "removing tbf"
ip -n "$cut_ns" link set eth0 up || fail "w3's eth0 up"
up2_at=$(since "$started")
up2_iter=$(last_iteration)
echo "cut 2: w3's eth0 up after iteration $up2_iter"
rejoin2_iter=$(await_rejoin 2 30) || fail "w3 did not rejoin within 30 s of cut 2"
echo "cut 2: w3 rejoined in iteration $rejoin2_iter, $(since "$started") s"
cp "$tmp/state.json" "$tmp/state-rejoined.json"

status=0
wait "$ps_pid" || status=$?
[ "$status" -eq 0 ] || fail "pgc ps exited with $status"
w=0
for pid in $worker_pids; do
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/w$w.log"; fail "worker w$w exited with $rc"; }
  w=$((w + 1))
done
pids=""
echo "--- PS log (without the iteration lines)"
grep -v "^iteration " "$tmp/ps.log"
echo "--- w3 log"
cat "$tmp/w3.log"
echo "--- PS events about w3"
grep -o '"t":[0-9.eE+-]*,"iteration":[0-9]*,"text":"worker 3 (w3)[^"]*"' "$tmp/state-rejoined.json"

# No wrong gradient: every step exact and checked against the single-process reference.
grep -q "pgc ps: $iterations iterations, .*, verified" "$tmp/ps.log" || fail "not verified"
summary=$(cat "$tmp/summary.json")
echo "$summary" | grep -q '"verified":true' || fail "summary: not verified"
exact=$(echo "$summary" | grep -o '"exact":true' | wc -l)
[ "$exact" -eq "$iterations" ] || fail "$exact of $iterations iterations exact"
# No iteration skipped or repeated: 0..39 once each, in the summary and in the CSV.
seq 0 $((iterations - 1)) >"$tmp/expected"
echo "$summary" | grep -o '"iteration":[0-9]*' | cut -d: -f2 >"$tmp/summary-iterations"
cmp -s "$tmp/expected" "$tmp/summary-iterations" || fail "summary iterations are not 0..$((iterations - 1))"
tail -n +2 "$tmp/run.csv" | cut -d, -f1 >"$tmp/csv-iterations"
cmp -s "$tmp/expected" "$tmp/csv-iterations" || fail "CSV iterations are not 0..$((iterations - 1))"
[ -s "$tmp/run.ckpt" ] || fail "no checkpoint"
# The PS noticed: w3's connection timed out, once per cut (in cut 2 in the middle of a frame:
# the PS allows a big frame time for its size, but not silence).
timeouts=$(grep -c "worker 3 'w3' left: .*timed out" "$tmp/ps.log")
[ "$timeouts" -ge 2 ] || fail "the PS timed out on w3 $timeouts times, expected 2"
lost=$(echo "$summary" | grep -o '"workers_lost":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s }')
resignals=$(echo "$summary" | grep -o '"epochs":[0-9]*' | cut -d: -f2 | awk '$1 > 1 { s++ } END { print s + 0 }')
slowest=$(echo "$summary" | grep -o '"seconds":[0-9.eE+-]*' | cut -d: -f2 | sort -g | tail -n 1)
median=$(echo "$summary" | grep -o '"median_iteration_seconds":[0-9.eE+-]*' | cut -d: -f2)
# ... went on without it, and it came back at a later iteration, before the end.
[ "$rejoin1_iter" -gt $((cut1_iter + 1)) ] || fail "no iteration finished without w3 in cut 1"
[ "$rejoin2_iter" -gt $((cut2_iter + 1)) ] || fail "no iteration finished without w3 in cut 2"
[ "$rejoin2_iter" -lt $((iterations - 1)) ] || fail "w3 rejoined only at the end"
# Cut 2 took w3 while the PS waited for its Encoded: that iteration was signalled again, without
# w3 (a new epoch), and the others encoded afresh.
[ "$resignals" -ge 1 ] || fail "no iteration was re-signalled after cut 2"
# Seconds on the PS's clock (its events) against ours (the cuts; started within 0.1 s of the PS).
grep -o '"t":[0-9.eE+-]*,"iteration":[0-9]*,"text":"worker 3 (w3) \(lost\|disconnected\)' \
  "$tmp/state-rejoined.json" | sed 's/"t":\([^,]*\),.*/\1/' >"$tmp/lost-t"
grep -o '"t":[0-9.eE+-]*,"iteration":[0-9]*,"text":"worker 3 (w3) rejoined' \
  "$tmp/state-rejoined.json" | sed 's/"t":\([^,]*\),.*/\1/' >"$tmp/rejoin-t"
[ "$(wc -l <"$tmp/lost-t")" -ge 2 ] || fail "the PS's events do not show w3 lost twice"
awk -v c1="$cut1_at" -v u1="$up1_at" -v c2="$cut2_at" -v u2="$up2_at" \
    -v l1="$(sed -n 1p "$tmp/lost-t")" -v l2="$(sed -n 2p "$tmp/lost-t")" \
    -v r1="$(sed -n 1p "$tmp/rejoin-t")" -v r2="$(sed -n 2p "$tmp/rejoin-t")" 'BEGIN {
  printf "figures: w3 lost by the PS %.2f s and %.2f s after the cuts; back %.2f s and %.2f s " \
         "after the links came up\n", l1 - c1, l2 - c2, r1 - u1, r2 - u2 }'
awk -v l="$lost" -v r="$resignals" -v s="$slowest" -v m="$median" -v c="$cut1_iter" \
    -v a="$rejoin1_iter" -v d="$cut2_iter" -v b="$rejoin2_iter" -v q="$sendq" 'BEGIN {
  printf "figures: cut 1 after iteration %d, w3 back in iteration %d; cut 2 (%d bytes unsent) " \
         "after iteration %d, back in iteration %d; workers lost inside iterations %d, " \
         "re-signalled iterations %d; iteration time median %.3f s, slowest %.3f s\n",
         c, a, q, d, b, l, r, m, s }'
echo "netcut test passed"
