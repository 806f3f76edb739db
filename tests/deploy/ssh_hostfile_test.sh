#!/bin/sh
# `pgc launch --hostfile` for real: two "hosts" are network namespaces, each running its own
# OpenSSH server on its own address; the launcher runs in a third namespace (the PS's host),
# reads a hostfile naming the two addresses, and starts the four workers there over ssh with a
# key. The PS must see its workers connect from the hosts' addresses, and the run must verify
# every gradient. Needs root, iproute2 and Debian's openssh-server + openssh-client.
# Exit 77 (skipped) when they are missing; namespaces and sshd are removed in every case.
#   ssh_hostfile_test.sh PGC
set -u
pgc=$1
skip() { echo "ssh hostfile test skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "ip not found (apt-get install iproute2)"
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd" ] || skip "sshd not found (apt-get install openssh-server)"
command -v ssh >/dev/null 2>&1 || skip "ssh not found (apt-get install openssh-client)"
command -v ssh-keygen >/dev/null 2>&1 || skip "ssh-keygen not found"

id=$$
ps_ns=pgc-sps-$id
hosts_ns="pgc-sha-$id pgc-shb-$id"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-ssh.XXXXXX")
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  for ns in $ps_ns $hosts_ns; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAILED: $*"; exit 1; }

ip netns add "$ps_ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip -n "$ps_ns" link set lo up
ip -n "$ps_ns" link add br0 type bridge || fail "no bridge"
ip -n "$ps_ns" addr add 10.78.0.1/24 dev br0
ip -n "$ps_ns" link set br0 up

# Keys: one host key for both sshd, one client key authorized for root.
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key" || fail "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id" || fail "ssh-keygen (client key)"
cp "$tmp/id.pub" "$tmp/authorized_keys"
chmod 600 "$tmp/authorized_keys"
mkdir -p /run/sshd  # sshd's privilege separation directory

n=2
: >"$tmp/hosts"
for ns in $hosts_ns; do
  ip netns add "$ns" || fail "ip netns add $ns"
  ip -n "$ns" link set lo up
  ip link add eth0 netns "$ns" type veth peer name "port$n" netns "$ps_ns" || fail "veth"
  ip -n "$ps_ns" link set "port$n" master br0
  ip -n "$ps_ns" link set "port$n" up
  ip -n "$ns" addr add "10.78.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  # -f /dev/null: none of this machine's sshd_config; everything needed is on the command line.
  # -D: in the foreground, a child of this script, so the cleanup stops and reaps it.
  ip netns exec "$ns" "$sshd" -D -f /dev/null -e \
    -o ListenAddress="10.78.0.$n" -o Port=22 -o HostKey="$tmp/host_key" \
    -o AuthorizedKeysFile="$tmp/authorized_keys" -o PermitRootLogin=prohibit-password \
    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o StrictModes=no \
    -o UsePAM=no -o PidFile=none -E "$tmp/sshd-$n.log" &
  pids="$pids $!"
  echo "10.78.0.$n slots=2" >>"$tmp/hosts"
  n=$((n + 1))
done
echo "namespaces: launcher/PS $ps_ns (10.78.0.1), hosts $hosts_ns (10.78.0.2, 10.78.0.3)"
cat "$tmp/hosts"

ssh_cmd="ssh -i $tmp/id -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
# The hosts reach sshd and run commands before pgc is involved (a failure here is the test
# bed's, and says so).
for h in 10.78.0.2 10.78.0.3; do
  for _ in $(seq 1 50); do
    ip netns exec "$ps_ns" $ssh_cmd "$h" true 2>"$tmp/err" && break
    sleep 0.1
  done
  ip netns exec "$ps_ns" $ssh_cmd "$h" true 2>"$tmp/err" ||
    { cat "$tmp"/sshd-*.log; fail "test bed: ssh to $h does not work: $(cat "$tmp/err")"; }
done

status=0
ip netns exec "$ps_ns" timeout 180 "$pgc" launch --hostfile "$tmp/hosts" \
  --listen 0.0.0.0:7100 --advertise 10.78.0.1 --ssh "$ssh_cmd" --remote-pgc "$pgc" \
  --workers 4 --load 2 --iterations 8 --workload synthetic --dim 64 --samples 4000 --verify \
  >"$tmp/launch.log" 2>&1 || status=$?
cat "$tmp/launch.log"
[ "$status" -eq 0 ] || fail "pgc launch exited with $status"
grep -q "8 iterations, .*, verified" "$tmp/launch.log" || fail "not verified"
# Each host ran two workers, and they came from the hosts' addresses, not from the launcher's.
for h in 10.78.0.2 10.78.0.3; do
  c=$(grep -c "from $h:" "$tmp/launch.log")
  [ "$c" -eq 2 ] || fail "expected 2 workers connecting from $h, the PS log shows $c"
done
echo "ssh hostfile test passed"
