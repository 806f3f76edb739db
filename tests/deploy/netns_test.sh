#!/bin/sh
# A cluster across "hosts": the PS in one network namespace, two workers in each of two more,
# joined by veth pairs to a bridge in the PS's namespace; with `netem`, every link also delays
# packets by 5 ms and loses 1% of them (both directions). Needs root and iproute2 (ip, tc).
# Exit 77 (skipped) when they are missing; the namespaces are removed in every case.
#   netns_test.sh PGC plain|netem
set -u
pgc=$1 mode=${2:-plain}
skip() { echo "netns test skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "ip not found (apt-get install iproute2)"
command -v tc >/dev/null 2>&1 || skip "tc not found (apt-get install iproute2)"

id=$$
ps_ns=pgc-ps-$id
w_ns="pgc-wa-$id pgc-wb-$id"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-netns.XXXXXX")
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for ns in $ps_ns $w_ns; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAILED: $*"; exit 1; }

ip netns add "$ps_ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip -n "$ps_ns" link set lo up
ip -n "$ps_ns" link add br0 type bridge || fail "no bridge"
ip -n "$ps_ns" addr add 10.77.0.1/24 dev br0
ip -n "$ps_ns" link set br0 up
n=2
for ns in $w_ns; do
  ip netns add "$ns" || fail "ip netns add $ns"
  ip -n "$ns" link set lo up
  # Created inside the namespaces, so the names cannot clash with the host's or another run's.
  ip link add eth0 netns "$ns" type veth peer name "port$n" netns "$ps_ns" || fail "veth"
  ip -n "$ps_ns" link set "port$n" master br0
  ip -n "$ps_ns" link set "port$n" up
  ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  if [ "$mode" = netem ]; then
    if ! ip netns exec "$ns" tc qdisc add dev eth0 root netem delay 5ms loss 1% 2>"$tmp/err"; then
      skip "tc netem unavailable ($(cat "$tmp/err"); the kernel needs sch_netem)"
    fi
    ip netns exec "$ps_ns" tc qdisc add dev "port$n" root netem delay 5ms loss 1% ||
      fail "netem on port$n"
  fi
  n=$((n + 1))
done
echo "namespaces: PS $ps_ns (10.77.0.1), workers $w_ns (10.77.0.2, 10.77.0.3); mode $mode"

workers=4
data="--workload synthetic --dim 64 --samples 4000"
ip netns exec "$ps_ns" timeout 180 "$pgc" ps --listen 10.77.0.1:7000 --workers $workers --load 2 \
  --iterations 8 --verify $data >"$tmp/ps.log" 2>&1 &
ps_pid=$!
pids=$ps_pid
for _ in $(seq 1 100); do
  grep -q "listening on" "$tmp/ps.log" && break
  sleep 0.1
done
grep -q "listening on 10.77.0.1:7000" "$tmp/ps.log" || { cat "$tmp/ps.log"; fail "the PS did not listen"; }
worker_pids=""
w=0
for ns in $w_ns; do
  for _ in 1 2; do
    ip netns exec "$ns" timeout 180 "$pgc" worker --connect 10.77.0.1:7000 --name "w$w" \
      --chunks $workers $data >"$tmp/w$w.log" 2>&1 &
    worker_pids="$worker_pids $!"
    pids="$pids $!"
    w=$((w + 1))
  done
done

status=0
wait "$ps_pid" || status=$?
cat "$tmp/ps.log"
[ "$status" -eq 0 ] || fail "pgc ps exited with $status"
w=0
for pid in $worker_pids; do
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/w$w.log"; fail "worker w$w exited with $rc"; }
  w=$((w + 1))
done
pids=""
grep -q "pgc ps: 8 iterations, .*, verified" "$tmp/ps.log" || fail "not verified"
echo "netns test ($mode) passed"
