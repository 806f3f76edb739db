#!/bin/sh
# A cluster across "hosts": the PS in one network namespace, two workers in each of two more,
# each worker namespace joined to a bridge in the PS's namespace. With `netem`, every link delays
# frames by 5 ms and loses 1% of them, both directions: with the kernel's sch_netem
# (`tc qdisc ... netem delay 5ms loss 1%` on both ends of a veth pair) when it has it, else with
# netem_wire, the user-space netem of this folder (the worker's eth0 and the bridge port are TAP
# devices, and the wire forwards frames between them with the same delay and loss).
# PGC_NETEM=kernel|wire forces one of them.
#
# Required: the training runs its iterations exact and verified (--verify); with netem, frames
# were really dropped (netem's or the wire's drop counter) and delayed (TCP's minimum RTT on the
# workers' connections, from `ss -ti`, is at least the 10 ms round trip). The figures are printed.
# Needs root and iproute2 (ip, tc, ss); exit 77 (skipped) without them. Namespaces, devices and
# processes are removed on every exit path.
#   netns_test.sh PGC plain|netem [NETEM_WIRE]
set -u
pgc=$1 mode=${2:-plain} wire=${3:-}
skip() { echo "netns test skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for tool in ip tc ss; do
  command -v $tool >/dev/null 2>&1 || skip "$tool not found (apt-get install iproute2)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-netns.XXXXXX")
# The random suffix of the directory makes the names unique per run: namespaces left by a run
# that was killed (and could not clean up) do not collide with ours.
id=${tmp##*.}
ps_ns=pgc-ps-$id
w_ns="pgc-wa-$id pgc-wb-$id"
pids=""
wire_pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  for ns in $ps_ns $w_ns; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAILED: $*"; exit 1; }

ip netns add "$ps_ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip -n "$ps_ns" link set lo up
ip -n "$ps_ns" link add br0 type bridge || fail "no bridge"
ip -n "$ps_ns" addr add 10.77.0.1/24 dev br0
ip -n "$ps_ns" link set br0 up

# Which netem: the kernel's when a netem qdisc can be added (tried on the PS namespace's lo).
netem=""
if [ "$mode" = netem ]; then
  netem=${PGC_NETEM:-}
  if [ -z "$netem" ]; then
    if ip netns exec "$ps_ns" tc qdisc add dev lo root netem delay 1ms 2>"$tmp/err"; then
      ip netns exec "$ps_ns" tc qdisc del dev lo root
      netem=kernel
    else
      netem=wire
      no_netem=$(cat "$tmp/err")
    fi
  fi
  if [ "$netem" = wire ]; then
    if [ -z "$wire" ] || [ ! -x "$wire" ]; then
      skip "no sch_netem and no netem_wire (Linux builds it)"
    fi
    [ -c /dev/net/tun ] || skip "no sch_netem and no /dev/net/tun for netem_wire"
    echo "netem: user-space netem_wire between TAP devices, delay 5 ms, loss 1% each way" \
         "(the kernel has no sch_netem: ${no_netem:-forced by PGC_NETEM})"
  else
    echo "netem: the kernel's sch_netem, tc qdisc netem delay 5ms loss 1% on both ends of each veth"
  fi
fi

n=2
for ns in $w_ns; do
  ip netns add "$ns" || fail "ip netns add $ns"
  ip -n "$ns" link set lo up
  # Created inside the namespaces, so the names cannot clash with the host's or another run's.
  if [ "$netem" = wire ]; then
    ip -n "$ns" tuntap add dev eth0 mode tap || fail "tap eth0 in $ns"
    ip -n "$ps_ns" tuntap add dev "port$n" mode tap || fail "tap port$n"
    "$wire" --delay-ms 5 --loss-percent 1 --seed $n "$ns:eth0" "$ps_ns:port$n" \
      >"$tmp/wire$n.log" 2>&1 &
    pids="$pids $!"
    wire_pids="$wire_pids $!"
  else
    ip link add eth0 netns "$ns" type veth peer name "port$n" netns "$ps_ns" || fail "veth"
  fi
  ip -n "$ps_ns" link set "port$n" master br0
  ip -n "$ps_ns" link set "port$n" up
  ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  if [ "$netem" = kernel ]; then
    ip netns exec "$ns" tc qdisc add dev eth0 root netem delay 5ms loss 1% || fail "netem on eth0"
    ip netns exec "$ps_ns" tc qdisc add dev "port$n" root netem delay 5ms loss 1% ||
      fail "netem on port$n"
  fi
  n=$((n + 1))
done
if [ "$netem" = wire ]; then
  for n in 2 3; do
    for _ in $(seq 1 50); do
      grep -q "ready" "$tmp/wire$n.log" && break
      sleep 0.1
    done
    grep -q "ready" "$tmp/wire$n.log" || { cat "$tmp/wire$n.log"; fail "netem_wire $n not ready"; }
  done
fi
echo "namespaces: PS $ps_ns (10.77.0.1), workers $w_ns (10.77.0.2, 10.77.0.3); mode $mode"

# Large enough that every iteration moves ~100 KB each way per worker (thousands of frames over
# the run, so a 1% loss drops some for certain), small enough to build in a moment.
workers=4
iterations=20
data="--workload synthetic --dim 12000 --samples 400"
ip netns exec "$ps_ns" timeout 180 "$pgc" ps --listen 10.77.0.1:7000 --workers $workers --load 2 \
  --iterations $iterations --verify --summary "$tmp/summary.json" $data >"$tmp/ps.log" 2>&1 &
ps_pid=$!
pids="$pids $ps_pid"
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

# TCP's view of the links while the cluster runs: the workers' connections to the PS, every
# 0.2 s (minrtt: the lowest round trip the kernel measured; retrans: segments sent again).
(
  while kill -0 "$ps_pid" 2>/dev/null; do
    for ns in $w_ns; do
      ip netns exec "$ns" ss -tinH state established '( dport = :7000 )' 2>/dev/null
    done
    sleep 0.2
  done
) >"$tmp/ss.log" 2>&1 &
sampler=$!
pids="$pids $sampler"

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
wait "$sampler" 2>/dev/null || true
grep -q "pgc ps: $iterations iterations, .*, verified" "$tmp/ps.log" || fail "not verified"
summary=$(cat "$tmp/summary.json")
exact=$(echo "$summary" | grep -o '"exact":true' | wc -l)
[ "$exact" -eq "$iterations" ] || fail "$exact of $iterations iterations exact"
median=$(echo "$summary" | grep -o '"median_iteration_seconds":[0-9.eE+-]*' | cut -d: -f2 |
  awk '{ printf "%.4f", $1 }')

# The lowest minrtt and the highest retransmission count seen on any worker connection.
minrtt=$(grep -o 'minrtt:[0-9.]*' "$tmp/ss.log" | cut -d: -f2 | sort -g | head -n 1)
retrans=$(grep -o 'retrans:[0-9]*/[0-9]*' "$tmp/ss.log" | cut -d/ -f2 | sort -n | tail -n 1)
srtt=$(grep -o ' rtt:[0-9.]*' "$tmp/ss.log" | cut -d: -f2 | sort -g |
  awk '{ v[NR] = $1 } END { if (NR) printf "%s-%s", v[1], v[NR] }')
[ -n "$minrtt" ] || { cat "$tmp/ss.log"; fail "ss showed no connection to the PS"; }
echo "figures ($mode${netem:+, $netem}): median iteration ${median} s; TCP minrtt ${minrtt} ms," \
     "smoothed rtt ${srtt} ms, retransmitted segments ${retrans:-0} (most on one connection)"

if [ "$mode" = netem ]; then
  # 5 ms each way: no round trip can be shorter than 10 ms.
  awk -v r="$minrtt" 'BEGIN { exit !(r >= 9.5) }' || fail "minrtt $minrtt ms: the links are not delayed"
  dropped=0
  if [ "$netem" = wire ]; then
    for pid in $wire_pids; do kill "$pid"; done
    for pid in $wire_pids; do wait "$pid" 2>/dev/null || true; done
    for n in 2 3; do
      cat "$tmp/wire$n.log"
      d=$(sed -n 's/^netem_wire: total .* dropped \([0-9]*\) .*/\1/p' "$tmp/wire$n.log")
      [ -n "$d" ] || fail "netem_wire $n printed no counts"
      dropped=$((dropped + d))
      # The wire's own measurement: no frame left it sooner than 5 ms after it came in.
      sed -n 's/.*held min \([0-9.]*\) .*/\1/p' "$tmp/wire$n.log" |
        awk '$1 < 5 { bad = 1 } END { exit bad }' || fail "netem_wire $n held a frame < 5 ms"
    done
  else
    for ns in $w_ns; do
      d=$(ip netns exec "$ns" tc -s qdisc show dev eth0 | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -n 1)
      dropped=$((dropped + ${d:-0}))
    done
    n=2
    for ns in $w_ns; do
      d=$(ip netns exec "$ps_ns" tc -s qdisc show dev "port$n" | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -n 1)
      dropped=$((dropped + ${d:-0}))
      n=$((n + 1))
    done
  fi
  echo "frames dropped by netem ($netem): $dropped"
  [ "$dropped" -gt 0 ] || fail "netem dropped no frame"
fi
echo "netns test ($mode${netem:+, $netem}) passed"
