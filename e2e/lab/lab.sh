#!/usr/bin/env bash
# Rampart test lab: N real Debian 12 servers on this machine.
#
#   lab.sh up [N]          start (at least) N hosts (default $LAB_HOSTS or 3)
#   lab.sh down            stop everything the lab made
#   lab.sh status          show the hosts; exit 0 if the lab is up, 3 if not
#   lab.sh ssh <host> [cmd...]   ssh to a host as root (name or address)
#   lab.sh env             print the lab's settings and the state file path
#
# Each host is a systemd-nspawn container booting real systemd, in its own
# network namespace (veth on a bridge), on its own overlay of a cached
# debootstrap image, reachable over SSH with a lab-generated key and pinned
# host keys. Hosts install packages through an apt-cacher-ng on the bridge
# address that only talks to Debian's archive. Nothing is routed off the
# machine: hosts have no default route and the bridge does not forward.
#
# Settings (environment):
#   LAB_HOSTS      default host count                    (3)
#   LAB_SUBNET     the lab's /24, must be unrouted       (10.213.47.0/24)
#   LAB_BRIDGE     bridge name, <= 11 chars              (rlab0)
#   LAB_PREFIX     host name prefix: lab1, lab2...       (lab)
#   LAB_CACHE      image + package cache, kept           (/var/cache/rampart-lab)
#   LAB_STATE_DIR  PIDs, keys, lab.json; removed by down (/run/rampart-lab)
#   LAB_HOSTS_DIR  hosts' writable layers; removed by down (/var/lib/rampart-lab)
#   LAB_BOOT_TIMEOUT  seconds to wait for a host to boot (90)
# `down`, `status`, `ssh` and `env` read the settings of the running lab from
# its state dir, so only LAB_STATE_DIR has to match.
set -euo pipefail
shopt -s nullglob

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${LAB_STATE_DIR:-/run/rampart-lab}
STATE_DIR=${STATE_DIR%/}
STATE_FILE=$STATE_DIR/lab.json
# One lock for every lab on the machine: labs with different settings still
# share /run/netns, port checks and so on. (The one file `down` leaves.)
LOCK_FILE=/run/lock/rampart-lab.lock
APT_PORT=3142

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; } # monotonic: wall clocks get stepped
since() { local ms=$(($(now_ms) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# ---------------------------------------------------------------- settings

# Load settings: from the running lab's state dir if there is one (so `down`
# cleans up what `up` actually made), else from the environment.
load_config() {
  if [[ -f $STATE_DIR/config ]]; then
    # shellcheck source=/dev/null
    source "$STATE_DIR/config"
  else
    SUBNET=${LAB_SUBNET:-10.213.47.0/24}
    BRIDGE=${LAB_BRIDGE:-rlab0}
    PREFIX=${LAB_PREFIX:-lab}
    CACHE=${LAB_CACHE:-/var/cache/rampart-lab}
    HOSTS_DIR=${LAB_HOSTS_DIR:-/var/lib/rampart-lab}
    CG_ROOTS=""
  fi
  CACHE=${CACHE%/}; HOSTS_DIR=${HOSTS_DIR%/}
  BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-90}

  [[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] ||
    die "LAB_SUBNET must be a /24 like 10.213.47.0/24 (got '$SUBNET')"
  local o
  for o in "${BASH_REMATCH[@]:1:3}"; do ((10#$o <= 255)) || die "bad LAB_SUBNET '$SUBNET'"; done
  NET_BASE=${SUBNET%.0/24}
  BRIDGE_IP=$NET_BASE.1
  [[ $BRIDGE =~ ^[a-zA-Z][a-zA-Z0-9_]{0,10}$ ]] ||
    die "LAB_BRIDGE must be 1-11 letters/digits/_ (veths are named <bridge>-<n>)"
  [[ $PREFIX =~ ^[a-z][a-z0-9-]{0,20}$ ]] || die "LAB_PREFIX must match [a-z][a-z0-9-]*"
  local d
  for d in "$CACHE" "$HOSTS_DIR" "$STATE_DIR"; do
    # Plain absolute paths only: they end up in JSON, overlay options, sed-free.
    [[ $d =~ ^/[A-Za-z0-9_./-]+$ && $d != *..* ]] ||
      die "LAB_CACHE, LAB_HOSTS_DIR and LAB_STATE_DIR must be plain absolute paths (got '$d')"
  done

  # A lab is identified by its state dir; what it creates is named after its
  # bridge (unique on the machine while the lab runs) and recorded in the
  # state dir, and teardown only touches what is recorded there. Two labs
  # with different LAB_STATE_DIR, LAB_BRIDGE, LAB_SUBNET and LAB_HOSTS_DIR can
  # run side by side.
  TAG="rampart-lab:$STATE_DIR"     # ifalias on our bridge and veths
  NFT_TABLE="rampart_lab_$BRIDGE"  # root-namespace guard table
  CG_NAME="rampart-lab-$BRIDGE"    # our cgroup subtree
  KEY=$STATE_DIR/id_ed25519
  KNOWN_HOSTS=$STATE_DIR/known_hosts
}

save_config() {
  {
    printf 'SUBNET=%q\nBRIDGE=%q\nPREFIX=%q\nCACHE=%q\nHOSTS_DIR=%q\nCG_ROOTS=%q\n' \
      "$SUBNET" "$BRIDGE" "$PREFIX" "$CACHE" "$HOSTS_DIR" "$(cgroup_roots)"
  } >"$STATE_DIR/config"
}

host_name() { echo "$PREFIX$1"; }
host_addr() { echo "$NET_BASE.$((10 + $1))"; }
host_netns() { echo "$BRIDGE-$(host_name "$1")"; }
host_veth() { echo "$BRIDGE-$1"; }

require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "lab: the test lab needs root (it creates network namespaces, a bridge," \
      "overlay mounts and systemd-nspawn containers). Run it as root, e.g." \
      "'sudo bash $0 ${1:-up}'." >&2
    exit 1
  fi
}

# One lab command at a time (parallel test workers all call `up`).
take_lock() {
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  flock 9
}

# -------------------------------------------------------- our own processes

# PIDs are recorded as "<pid> <start time>" so a recycled PID is never
# mistaken for ours.
proc_start() { [[ -r /proc/$1/stat ]] && awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null; }
record_pid() { echo "$1 $(proc_start "$1")" >"$2"; }
# recorded_pid <file>: prints the PID if that exact process is still alive.
recorded_pid() {
  [[ -f $1 ]] || return 1
  local pid start
  read -r pid start <"$1" || return 1
  [[ -n $pid && -n $start && $(proc_start "$pid") == "$start" ]] || return 1
  echo "$pid"
}

# --------------------------------------------------------------- cgroups
#
# systemd-nspawn --keep-unit runs the container in the cgroup it is started
# from, and the container's systemd takes that cgroup over; so each host gets
# its own cgroup, created by us, and the launching shell moves into it before
# exec'ing nspawn. Anything inside those cgroups is a process we started.

# The cgroup hierarchies the hosts' cgroups live in; decided once at `up`
# and saved, so `down` finds them whoever calls it.
cgroup_roots() {
  if [[ -n ${CG_ROOTS:-} ]]; then echo "$CG_ROOTS"; return; fi
  if [[ -d /sys/fs/cgroup/unified ]]; then      # hybrid (this machine)
    echo /sys/fs/cgroup/systemd
    echo /sys/fs/cgroup/unified
  elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then  # pure cgroup v2
    echo /sys/fs/cgroup
  elif [[ -d /sys/fs/cgroup/systemd ]]; then    # legacy v1
    echo /sys/fs/cgroup/systemd
  fi
  # cgroup v1 memory controller: a child of our own memory cgroup, only to
  # measure each host's memory (bench). Never moves anything out of the
  # cgroup the caller put us in.
  if [[ -d /sys/fs/cgroup/memory ]]; then
    local mem
    mem=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
    echo "/sys/fs/cgroup/memory${mem%/}"
  fi
}

host_cgroups() { local r; for r in $(cgroup_roots); do echo "$r/$CG_NAME/$1"; done; }

# PIDs of every process in our cgroup subtree(s).
cgroup_pids() {
  local r
  for r in $(cgroup_roots); do
    [[ -d $r/$CG_NAME ]] || continue
    find "$r/$CG_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

remove_cgroups() {
  local r
  for r in $(cgroup_roots); do
    [[ -d $r/$CG_NAME ]] || continue
    # Depth first: the container's systemd made sub-cgroups of its own.
    find "$r/$CG_NAME" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d $r/$CG_NAME ]] || log "warning: could not remove cgroup $r/$CG_NAME"
  done
}

# ------------------------------------------------------------ prerequisites

PREREQ_PACKAGES=(debootstrap debian-archive-keyring systemd-container apt-cacher-ng
  iproute2 nftables openssh-client curl util-linux)

install_prereqs() {
  local missing=() p
  for p in "${PREREQ_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing prerequisites: ${missing[*]}"
  # apt-cacher-ng's package would start a system-wide daemon on 0.0.0.0:3142;
  # the lab runs its own, bound to the bridge only. A policy-rc.d that denies
  # service starts stops that (removed again unless it was already there).
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0 aptlog
  aptlog=$(mktemp /tmp/rampart-lab-apt.XXXXXX)
  { apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1 || rc=$?
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  if ((rc != 0)); then
    tail -n 30 "$aptlog" >&2
    die "could not install prerequisites (${missing[*]}); full log: $aptlog"
  fi
  rm -f "$aptlog"
}

# ------------------------------------------------------------------ network

# Refuse to use a subnet that something else on this machine already routes
# or has addresses in (ignoring the default route, which covers everything).
check_subnet_free() {
  local routes addrs
  routes=$({ ip -4 route show table all root "$SUBNET"
             ip -4 route show table all match "$SUBNET"; } 2>/dev/null |
           grep -v '^default' | grep -v '^\(local\|broadcast\) ' | sort -u || true)
  addrs=$(ip -4 -o addr show to "$SUBNET" 2>/dev/null || true)
  if [[ -n $routes || -n $addrs ]]; then
    die "subnet $SUBNET is already in use on this machine:
${routes}${addrs:+
$addrs}
Pick another one with LAB_SUBNET=a.b.c.0/24."
  fi
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    die "an interface named $BRIDGE already exists (another lab?); set LAB_BRIDGE"
  fi
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -q "^$BRIDGE-"; then
    die "network namespaces named $BRIDGE-* exist but belong to no lab state in $STATE_DIR
(remove them with 'ip netns del', or set LAB_BRIDGE)"
  fi
  local r
  for r in $(cgroup_roots); do
    if [[ -d $r/$CG_NAME ]] && [[ -n $(find "$r/$CG_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null) ]]; then
      die "cgroup $r/$CG_NAME has processes but belongs to no lab state in $STATE_DIR; set LAB_BRIDGE"
    fi
  done
}

setup_network() {
  # Remember whether /run/netns was a mount point before `ip netns add` made
  # it one, so `down` only undoes what the lab did.
  if ! mountpoint -q /run/netns 2>/dev/null; then touch "$STATE_DIR/made-run-netns"; fi
  # Likewise nspawn's lock directory (/run/systemd/nspawn/locks).
  [[ -e /run/systemd/nspawn ]] || touch "$STATE_DIR/made-nspawn-run-dir"

  ip link add "$BRIDGE" type bridge
  ip link set dev "$BRIDGE" alias "$TAG"
  # No IPv6 on the lab links: no router solicitations, no link-local chatter.
  echo 1 >"/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6" 2>/dev/null || true
  # Never forward packets arriving from the lab (ip_forward is left as it is;
  # this per-interface switch wins for packets coming in on the bridge).
  echo 0 >"/proc/sys/net/ipv4/conf/$BRIDGE/forwarding"
  ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set dev "$BRIDGE" up

  # Belt and braces, should someone turn forwarding on later: drop anything
  # routed between the lab bridge and any other interface. Host-to-host
  # traffic is bridged, not routed, and stays allowed.
  nft -f - <<EOF
table inet $NFT_TABLE {
  chain forward {
    type filter hook forward priority -100; policy accept;
    iifname "$BRIDGE" oifname != "$BRIDGE" drop
    oifname "$BRIDGE" iifname != "$BRIDGE" drop
  }
}
EOF
  touch "$STATE_DIR/made-nft-table"
}

# ------------------------------------------------------------ apt-cacher-ng

# Our own apt-cacher-ng: bound to the bridge address only, config and logs in
# the state dir, package cache in $LAB_CACHE (kept between runs). Explicit
# remaps for Debian's archive and security archive; ForceManaged refuses
# everything else, and no CONNECT tunnels.
start_apt_cacher() {
  local dir=$STATE_DIR/apt-cacher-ng
  mkdir -p "$dir/conf" "$dir/log" "$dir/run" "$CACHE/apt-cacher-ng"
  cat >"$dir/conf/acng.conf" <<EOF
CacheDir: $CACHE/apt-cacher-ng
LogDir: $dir/log
SupportDir: /usr/lib/apt-cacher-ng
SocketPath: $dir/run/socket
PidFile: $dir/run/pid
ForeGround: 1
Port: $APT_PORT
BindAddress: $BRIDGE_IP
Remap-debian: deb.debian.org/debian ftp.debian.org/debian http.debian.net/debian /debian ; http://deb.debian.org/debian
Remap-debsec: deb.debian.org/debian-security security.debian.org/debian-security security.debian.org /debian-security ; http://deb.debian.org/debian-security
ForceManaged: 1
PassThroughPattern: ^$
ForwardBtsSoap: 0
RedirMax: 0
ExThreshold: 4
ConnectProto: v4 v6
EOF
  chown -R apt-cacher-ng:apt-cacher-ng "$dir"
  # The package cache survives between runs; fix its owner only if needed.
  [[ $(stat -c %U "$CACHE/apt-cacher-ng") == apt-cacher-ng ]] ||
    chown -R apt-cacher-ng:apt-cacher-ng "$CACHE/apt-cacher-ng"
  # It runs unprivileged: every directory above its cache must let it in.
  setpriv --reuid=apt-cacher-ng --regid=apt-cacher-ng --clear-groups test -w "$CACHE/apt-cacher-ng" ||
    die "user apt-cacher-ng cannot reach $CACHE/apt-cacher-ng; make $CACHE world-traversable (chmod 755)"
  # Another daemon on the port (e.g. Debian's own apt-cacher-ng service on
  # 0.0.0.0:3142) would answer in ours' place, with its own rules.
  local other
  other=$(ss -ltnpH "sport = :$APT_PORT" 2>/dev/null |
    awk -v ip="$BRIDGE_IP" '$4 ~ ("^(0\\.0\\.0\\.0|\\[::\\]|\\*|" ip "):")' || true)
  [[ -z $other ]] || die "port $APT_PORT is already taken by another process, so the lab's apt-cacher-ng
cannot listen on $BRIDGE_IP:$APT_PORT:
$other"
  # setsid: it must outlive this script and not get the test runner's ^C;
  # setpriv: it does not need root; 9>&-: it must not inherit our lock.
  setsid setpriv --reuid=apt-cacher-ng --regid=apt-cacher-ng --init-groups \
    /usr/sbin/apt-cacher-ng -c "$dir/conf" </dev/null >"$dir/log/stdout.log" 2>&1 9>&- &
  local pid=$!
  record_pid "$pid" "$STATE_DIR/apt-cacher-ng.pid"
  local i
  for ((i = 0; i < 100; i++)); do
    # Ready when the listener on the bridge address is this very process.
    if ss -ltnpH "src $BRIDGE_IP and sport = :$APT_PORT" 2>/dev/null | grep -q "pid=$pid,"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/log/"* >&2 || true
  die "apt-cacher-ng did not start on $BRIDGE_IP:$APT_PORT"
}

# -------------------------------------------------------------------- image

IMAGE_RECIPE=$LAB_DIR/image.sh

image_dir() {
  local hash
  hash=$(sha256sum "$IMAGE_RECIPE" | cut -c1-16)
  echo "$CACHE/image-$hash"
}

ensure_image() {
  IMAGE=$(image_dir)
  if [[ -f $IMAGE/complete ]]; then return 0; fi
  local t0 tmp old
  t0=$(now_ms)
  # Leftovers of builds that died half-way, and images of older recipes.
  for old in "$CACHE"/image-*; do
    [[ $old == "$IMAGE" ]] && continue
    # (an overlay names its lower dir in the mount options: match anywhere)
    if grep -qF "$old/" /proc/self/mountinfo; then
      log "warning: $old has mounts (another lab using it?), keeping it"
      continue
    fi
    log "removing stale image $old"
    rm -rf --one-file-system "$old"
  done
  tmp=$IMAGE.tmp
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp"
  log "building base image (debootstrap, a few minutes; cached in $IMAGE)"
  # shellcheck source=./image.sh
  source "$IMAGE_RECIPE"
  if ! (lab_image_build "$tmp/rootfs" "http://$BRIDGE_IP:$APT_PORT") >"$tmp.log" 2>&1; then
    tail -n 40 "$tmp.log" >&2
    die "image build failed (full log: $tmp.log)"
  fi
  cp "$IMAGE_RECIPE" "$tmp/recipe.sh"
  mv "$tmp.log" "$tmp/build.log"
  date -u +%FT%TZ >"$tmp/complete"
  mv "$tmp" "$IMAGE"
  log "image built in $(since "$t0")"
}

# -------------------------------------------------------------------- hosts

# Create a directory in the host's upper layer with the mode and owner the
# image has there (an upper directory's attributes win in the overlay).
seed_dir() {
  local upper=$1 rel=$2 path="" part
  local IFS=/
  for part in $rel; do
    [[ -n $part ]] || continue
    path=$path/$part
    if [[ ! -d $upper$path ]]; then
      mkdir "$upper$path"
      if [[ -d $IMAGE/rootfs$path ]]; then
        chmod "$(stat -c %a "$IMAGE/rootfs$path")" "$upper$path"
        chown "$(stat -c %u:%g "$IMAGE/rootfs$path")" "$upper$path"
      fi
    fi
  done
}

write_etc_hosts() { # <file> <count>
  local i
  {
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    printf '%s\tlab-bridge\n' "$BRIDGE_IP"
    for ((i = 1; i <= $2; i++)); do printf '%s\t%s\n' "$(host_addr "$i")" "$(host_name "$i")"; done
  } >"$1"
}

# Filesystem of host <i>. Runs in parallel for all new hosts (host key
# generation is the slow part).
prepare_host() {
  local i=$1 count=$2
  local name dir upper
  name=$(host_name "$i")
  dir=$HOSTS_DIR/$name; upper=$dir/upper
  rm -rf --one-file-system "$dir"
  mkdir -p "$upper" "$dir/work" "$dir/merged" "$STATE_DIR/hosts/$name"

  # Identity: hostname, machine-id, fresh SSH host keys, the lab's key.
  seed_dir "$upper" /etc/ssh
  seed_dir "$upper" /etc/apt/apt.conf.d
  seed_dir "$upper" /root/.ssh
  chmod 0700 "$upper/root/.ssh"
  echo "$name" >"$upper/etc/hostname"
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$upper/etc/machine-id"
  echo >>"$upper/etc/machine-id"
  write_etc_hosts "$upper/etc/hosts" "$count"
  ssh-keygen -q -A -f "$upper" >/dev/null # rsa, ecdsa, ed25519 like any Debian server
  install -m 0600 "$KEY.pub" "$upper/root/.ssh/authorized_keys"
  # apt goes through the lab's cacher; the only way out for a host.
  printf 'Acquire::http::Proxy "http://%s:%s";\n' "$BRIDGE_IP" "$APT_PORT" \
    >"$upper/etc/apt/apt.conf.d/01proxy"

  mount -t overlay "overlay-$BRIDGE-$name" \
    -o "lowerdir=$IMAGE/rootfs,upperdir=$upper,workdir=$dir/work" "$dir/merged"
}

# Network of host <i>: own namespace, one veth into the bridge, one address,
# no default route (so the host can only reach the lab subnet). Sequential:
# concurrent first `ip netns add`s would each mount /run/netns.
host_network() {
  local i=$1 addr ns veth
  addr=$(host_addr "$i"); ns=$(host_netns "$i"); veth=$(host_veth "$i")
  ip netns add "$ns"
  echo "$ns" >"$STATE_DIR/hosts/$(host_name "$i")/netns" # teardown deletes recorded ones only
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set dev "$veth" alias "$TAG"
  echo 1 >"/proc/sys/net/ipv6/conf/$veth/disable_ipv6" 2>/dev/null || true
  ip link set dev "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}

boot_host() {
  local i=$1
  local name ns dir cgs cg
  name=$(host_name "$i"); ns=$(host_netns "$i"); dir=$HOSTS_DIR/$name
  mapfile -t cgs < <(host_cgroups "$name")
  for cg in "${cgs[@]}"; do mkdir -p "$cg"; done
  (
    # Move this subshell into the host's own cgroups, then become nspawn.
    for cg in "${cgs[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
    exec 9>&- # the host must not hold lab.sh's lock for its lifetime
    # setsid: detach from the caller's session so a ^C in a test runner does
    # not kill the hosts; `down` stops them.
    exec setsid systemd-nspawn -q -D "$dir/merged" -M "$name" --boot \
      --register=no --keep-unit --network-namespace-path="/run/netns/$ns" \
      --capability=CAP_NET_ADMIN --resolv-conf=off --timezone=off \
      --link-journal=no --console=passive
  ) </dev/null >"$dir/nspawn.log" 2>&1 &
  local pid=$!
  # Record at once: a crash right now must not orphan it (exec keeps the
  # PID and start time).
  record_pid "$pid" "$STATE_DIR/hosts/$name/nspawn.pid"
  local n
  for ((n = 0; n < 100; n++)); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] && return 0
    sleep 0.02
  done
  cat "$dir/nspawn.log" >&2
  die "$name: systemd-nspawn did not start (pid $pid)"
}

# The container's PID 1 (a child of nspawn), recorded so `down` can kill it
# if nspawn does not shut the host down in time.
find_leader() {
  local name=$1 pid child
  pid=$(recorded_pid "$STATE_DIR/hosts/$name/nspawn.pid") || return 1
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    if [[ $(cat "/proc/$child/comm" 2>/dev/null) == systemd ]]; then
      record_pid "$child" "$STATE_DIR/hosts/$name/leader.pid"
      return 0
    fi
  done
  return 1
}

ssh_opts() {
  echo -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o CheckHostIP=no -o LogLevel=ERROR \
    -o ConnectTimeout=3 -o ServerAliveInterval=5
}

# Wait until host <i> answers SSH and systemd has finished booting.
wait_host() {
  local i=$1
  local name addr deadline state=""
  name=$(host_name "$i"); addr=$(host_addr "$i")
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  while (($(date +%s) < deadline)); do
    recorded_pid "$STATE_DIR/hosts/$name/nspawn.pid" >/dev/null ||
      { tail -n 20 "$HOSTS_DIR/$name/nspawn.log" >&2; die "$name: systemd-nspawn exited"; }
    [[ -f $STATE_DIR/hosts/$name/leader.pid ]] || find_leader "$name" || true
    # shellcheck disable=SC2046
    state=$(timeout 60 ssh $(ssh_opts) "root@$addr" systemctl is-system-running --wait 2>/dev/null) || true
    case $state in
      running) return 0 ;;
      degraded)
        # shellcheck disable=SC2046
        log "$name is degraded; failed units:" \
          "$(ssh $(ssh_opts) "root@$addr" systemctl --failed --plain --no-legend 2>&1)"
        return 1 ;;
    esac
    sleep 0.2
  done
  die "$name did not boot within $BOOT_TIMEOUT s (last state: '${state:-no ssh}')"
}

host_key_line() { awk '{print $1" "$2}' "$HOSTS_DIR/$1/upper/etc/ssh/ssh_host_ed25519_key.pub"; }

write_known_hosts() { # <count>
  local i
  for ((i = 1; i <= $1; i++)); do
    echo "$(host_addr "$i") $(host_key_line "$(host_name "$i")")"
  done >"$KNOWN_HOSTS.tmp"
  mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
}

json_str() { printf '"%s"' "$1"; } # our values never contain quotes/backslashes

write_state_file() { # <count>
  local i name comma="" pid leader fp
  {
    printf '{\n'
    printf '  "version": 1,\n'
    printf '  "stateFile": %s,\n' "$(json_str "$STATE_FILE")"
    printf '  "stateDir": %s,\n' "$(json_str "$STATE_DIR")"
    printf '  "subnet": %s,\n' "$(json_str "$SUBNET")"
    printf '  "bridge": %s,\n' "$(json_str "$BRIDGE")"
    printf '  "bridgeAddress": %s,\n' "$(json_str "$BRIDGE_IP")"
    printf '  "aptProxy": %s,\n' "$(json_str "http://$BRIDGE_IP:$APT_PORT")"
    printf '  "image": %s,\n' "$(json_str "$IMAGE")"
    printf '  "user": "root",\n'
    printf '  "sshKey": %s,\n' "$(json_str "$KEY")"
    printf '  "sshPublicKey": %s,\n' "$(json_str "$(awk '{print $1" "$2}' "$KEY.pub")")"
    printf '  "knownHosts": %s,\n' "$(json_str "$KNOWN_HOSTS")"
    printf '  "hosts": ['
    for ((i = 1; i <= $1; i++)); do
      name=$(host_name "$i")
      pid=$(recorded_pid "$STATE_DIR/hosts/$name/nspawn.pid" || echo 0)
      leader=$(recorded_pid "$STATE_DIR/hosts/$name/leader.pid" || echo 0)
      fp=$(ssh-keygen -l -E sha256 -f "$HOSTS_DIR/$name/upper/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')
      printf '%s\n    {"name": %s, "address": %s, "port": 22, "hostKey": %s, "fingerprint": %s,' \
        "$comma" "$(json_str "$name")" "$(json_str "$(host_addr "$i")")" \
        "$(json_str "$(host_key_line "$name")")" "$(json_str "$fp")"
      printf ' "netns": %s, "root": %s, "pid": %s, "leaderPid": %s}' \
        "$(json_str "$(host_netns "$i")")" "$(json_str "$HOSTS_DIR/$name/merged")" "$pid" "$leader"
      comma=,
    done
    printf '\n  ]\n}\n'
  } >"$STATE_FILE.tmp"
  mv "$STATE_FILE.tmp" "$STATE_FILE"
}

# Hosts counted as running: a state file, a live apt-cacher-ng, and a live
# nspawn for lab1..labK. Prints K (0 if the lab is not healthy).
running_hosts() {
  [[ -f $STATE_FILE && -f $STATE_DIR/count ]] || { echo 0; return; }
  recorded_pid "$STATE_DIR/apt-cacher-ng.pid" >/dev/null || { echo 0; return; }
  local count i
  count=$(cat "$STATE_DIR/count")
  for ((i = 1; i <= count; i++)); do
    recorded_pid "$STATE_DIR/hosts/$(host_name "$i")/nspawn.pid" >/dev/null || { echo 0; return; }
  done
  echo "$count"
}

# Start hosts <from>..<to> (the lab then has <to> hosts).
start_hosts() {
  local from=$1 to=$2 i pids=() rc=0
  for ((i = from; i <= to; i++)); do prepare_host "$i" "$to" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  ((rc == 0)) || die "preparing hosts failed"
  for ((i = from; i <= to; i++)); do host_network "$i"; done
  for ((i = 1; i < from; i++)); do # existing hosts learn the new names
    write_etc_hosts "$HOSTS_DIR/$(host_name "$i")/merged/etc/hosts" "$to"
  done
  write_known_hosts "$to"
  for ((i = from; i <= to; i++)); do boot_host "$i"; done
  pids=()
  for ((i = from; i <= to; i++)); do wait_host "$i" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  ((rc == 0)) || die "some hosts did not reach 'running' (the lab is left up for inspection: lab.sh status / lab.sh ssh)"
  for ((i = from; i <= to; i++)); do find_leader "$(host_name "$i")" || true; done
  echo "$to" >"$STATE_DIR/count"
  write_state_file "$to"
}

# ------------------------------------------------------------------ teardown

# Stop and remove everything this lab (same state dir and bridge) made. Used
# by `down` and, before starting, to clean up after a crashed run. Only ever
# signals processes we recorded or that live in our own cgroups.
teardown() {
  local f pid pids=() n name

  # 1. Ask every host to shut down cleanly (nspawn turns SIGTERM into a
  #    poweroff of the container).
  for f in "$STATE_DIR"/hosts/*/nspawn.pid; do
    pid=$(recorded_pid "$f") || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for ((n = 0; n < 100; n++)); do
    local alive=0
    for f in "$STATE_DIR"/hosts/*/nspawn.pid; do recorded_pid "$f" >/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  # 2. Hosts that did not stop in 10 s: kill PID 1 (takes the whole PID
  #    namespace with it), then nspawn.
  for f in "$STATE_DIR"/hosts/*/leader.pid "$STATE_DIR"/hosts/*/nspawn.pid; do
    pid=$(recorded_pid "$f") || continue
    log "killing $(basename "$(dirname "$f")") ($(basename "$f" .pid) $pid)"
    kill -KILL "$pid" 2>/dev/null || true
  done
  # 3. Anything still in our cgroups was started by us (e.g. an nspawn whose
  #    PID file a crash never wrote).
  for ((n = 0; n < 50 && ${#CG_ROOTS}; n++)); do
    mapfile -t pids < <(cgroup_pids)
    ((${#pids[@]})) || break
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done

  # 4. apt-cacher-ng.
  if pid=$(recorded_pid "$STATE_DIR/apt-cacher-ng.pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 50; n++)); do recorded_pid "$STATE_DIR/apt-cacher-ng.pid" >/dev/null || break; sleep 0.1; done
    pid=$(recorded_pid "$STATE_DIR/apt-cacher-ng.pid") && kill -KILL "$pid" 2>/dev/null || true
  fi

  # 5. Overlay mounts (anything mounted under our hosts dir), deepest first.
  local mnt
  owns_dir "$HOSTS_DIR" && while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || log "warning: could not unmount $mnt"
  done < <(awk -v d="$HOSTS_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)

  # 6. Network namespaces (their veth ends go with them), veths, bridge.
  local ns
  for f in "$STATE_DIR"/hosts/*/netns; do
    ns=$(cat "$f")
    [[ -e /run/netns/$ns ]] || continue
    ip netns del "$ns" || log "warning: could not delete netns $ns"
  done
  local link
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ $link == "$BRIDGE" || $link == "$BRIDGE"-* ]] || continue
    [[ $(cat "/sys/class/net/$link/ifalias" 2>/dev/null) == "$TAG" ]] || continue
    [[ $link == "$BRIDGE" ]] && continue
    ip link del "$link" 2>/dev/null || true
  done
  if [[ $(cat "/sys/class/net/$BRIDGE/ifalias" 2>/dev/null) == "$TAG" ]]; then
    ip link del "$BRIDGE" || log "warning: could not delete bridge $BRIDGE"
  fi
  [[ ! -f $STATE_DIR/made-nft-table ]] || nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  # /run/netns: unmount it only if the lab made it a mount point and no
  # namespace is left in it.
  local k
  for ((k = 0; k < 3; k++)); do
    if [[ -f $STATE_DIR/made-run-netns ]] && mountpoint -q /run/netns &&
      [[ -z $(ls -A /run/netns 2>/dev/null) ]]; then
      umount /run/netns 2>/dev/null || break
    fi
  done
  # nspawn leaves /run/systemd/nspawn/propagate/<machine> behind when /run is
  # not a tmpfs (it refuses to rm -rf on a disk file system).
  for f in "$STATE_DIR"/hosts/*; do
    rmdir "/run/systemd/nspawn/propagate/$(basename "$f")" 2>/dev/null || true
  done
  if [[ -f $STATE_DIR/made-nspawn-run-dir && -d /run/systemd/nspawn ]]; then
    # Only empty directories: anything in there belongs to another nspawn.
    find /run/systemd/nspawn -depth -type d -empty -delete 2>/dev/null || true
  fi

  # 7. cgroups, hosts' layers, state. Never rm -rf while something is still
  #    mounted below (that would write through the overlay).
  [[ -z $CG_ROOTS ]] || remove_cgroups
  if ! owns_dir "$HOSTS_DIR"; then
    : # not ours (or already gone)
  elif awk -v d="$HOSTS_DIR/" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
    log "warning: mounts remain under $HOSTS_DIR; not deleting it"
  else
    remove_marked_dir "$HOSTS_DIR"
  fi
  remove_marked_dir "$STATE_DIR"
}

# Directories the lab creates carry a marker file, and only marked
# directories are ever deleted wholesale: a mistyped LAB_STATE_DIR=/run must
# not cost anyone their /run.
# The marker holds the state dir of the lab that owns the directory.
MARKER=.rampart-lab
owns_dir() { [[ -f $1/$MARKER && $(cat "$1/$MARKER") == "$STATE_DIR" ]]; }
make_marked_dir() {
  if [[ -f $1/$MARKER ]] && ! owns_dir "$1"; then
    die "$1 belongs to the lab whose state is in $(cat "$1/$MARKER"); set LAB_HOSTS_DIR/LAB_STATE_DIR"
  fi
  if [[ -d $1 && ! -f $1/$MARKER && -n $(ls -A "$1") ]]; then
    die "$1 exists, is not empty and was not made by the lab; choose another directory"
  fi
  mkdir -p "$1"
  echo "$STATE_DIR" >"$1/$MARKER"
}
remove_marked_dir() {
  [[ -e $1 ]] || return 0
  if owns_dir "$1"; then
    rm -rf --one-file-system "$1"
  else
    log "warning: $1 is not marked as this lab's; not deleting it"
  fi
}

# Is there anything of this lab around (a crashed run's leftovers)? `up`
# creates the state dir and saves its settings before anything else, and
# teardown removes it last, so the state dir knows.
leftovers() { owns_dir "$STATE_DIR"; }

# ----------------------------------------------------------------- commands

cmd_up() {
  local want=${1:-${LAB_HOSTS:-3}}
  [[ $want =~ ^[0-9]+$ ]] && ((want >= 1 && want <= 100)) || die "host count must be 1..100 (got '$want')"
  require_root up
  take_lock
  load_config
  local t0 have
  t0=$(now_ms)
  have=$(running_hosts)
  if ((have >= want)); then
    log "already up with $have hosts ($STATE_FILE)"
    return 0
  fi
  install_prereqs
  if ((have > 0)); then
    IMAGE=$(cat "$STATE_DIR/image")
    log "adding hosts $((have + 1))..$want"
    start_hosts $((have + 1)) "$want"
  else
    if leftovers; then
      log "cleaning up leftovers of a previous run"
      teardown
      # Settings come from the environment again, not from the dead lab.
      load_config
    fi
    check_subnet_free
    # State dir and settings first: from here on, `down` or the next `up`
    # can clean up whatever this run manages to create.
    make_marked_dir "$STATE_DIR"
    chmod 0755 "$STATE_DIR"
    mkdir -p "$STATE_DIR/hosts"
    save_config
    make_marked_dir "$HOSTS_DIR"
    [[ -d $CACHE ]] || install -d -m 0755 "$CACHE"
    setup_network
    start_apt_cacher
    ensure_image
    echo "$IMAGE" >"$STATE_DIR/image"
    ssh-keygen -q -t ed25519 -N '' -C "rampart-lab" -f "$KEY"
    chmod 0600 "$KEY"
    start_hosts 1 "$want"
  fi
  log "up: $want hosts in $(since "$t0"); state: $STATE_FILE"
  cmd_status_table >&2
}

cmd_down() {
  require_root down
  take_lock
  load_config
  local t0
  t0=$(now_ms)
  if ! leftovers; then
    log "not up"
    return 0
  fi
  teardown
  log "down in $(since "$t0")"
}

cmd_status_table() {
  local count i name pid
  count=$(running_hosts)
  printf '%-8s %-15s %-8s %s\n' HOST ADDRESS PID FINGERPRINT
  for ((i = 1; i <= count; i++)); do
    name=$(host_name "$i")
    pid=$(recorded_pid "$STATE_DIR/hosts/$name/nspawn.pid" || echo -)
    printf '%-8s %-15s %-8s %s\n' "$name" "$(host_addr "$i")" "$pid" \
      "$(ssh-keygen -l -E sha256 -f "$HOSTS_DIR/$name/upper/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')"
  done
}

cmd_status() {
  require_root status
  load_config
  local count i state
  count=$(running_hosts)
  if ((count == 0)); then
    if leftovers; then echo "lab: down (leftovers of a crashed run present; 'up' or 'down' cleans them)"
    else echo "lab: down"; fi
    return 3
  fi
  echo "lab: up, $count hosts, subnet $SUBNET on $BRIDGE, apt proxy http://$BRIDGE_IP:$APT_PORT"
  echo "state: $STATE_FILE"
  printf '%-8s %-15s %-8s %-10s %s\n' HOST ADDRESS PID SYSTEMD FINGERPRINT
  for ((i = 1; i <= count; i++)); do
    # shellcheck disable=SC2046
    state=$(timeout 5 ssh $(ssh_opts) "root@$(host_addr "$i")" systemctl is-system-running 2>/dev/null) || state=${state:-unreachable}
    printf '%-8s %-15s %-8s %-10s %s\n' "$(host_name "$i")" "$(host_addr "$i")" \
      "$(recorded_pid "$STATE_DIR/hosts/$(host_name "$i")/nspawn.pid" || echo -)" "$state" \
      "$(ssh-keygen -l -E sha256 -f "$HOSTS_DIR/$(host_name "$i")/upper/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')"
  done
}

cmd_ssh() {
  [[ $# -ge 1 ]] || die "usage: lab.sh ssh <host> [command...]"
  require_root ssh
  load_config
  local target=$1 count i addr=""; shift
  count=$(running_hosts)
  ((count > 0)) || die "the lab is not up (lab.sh up)"
  for ((i = 1; i <= count; i++)); do
    if [[ $target == "$(host_name "$i")" || $target == "$(host_addr "$i")" ]]; then addr=$(host_addr "$i"); fi
  done
  [[ -n $addr ]] || die "no host '$target' (hosts: $(for ((i = 1; i <= count; i++)); do printf '%s ' "$(host_name "$i")"; done))"
  # Like ssh itself, the remote command is the arguments joined by spaces and
  # run by the host's shell. A terminal is requested only when interactive.
  local tty=-T
  [[ $# -eq 0 && -t 0 ]] && tty=-t
  # shellcheck disable=SC2046
  exec ssh $(ssh_opts) "$tty" "root@$addr" "$@"
}

cmd_env() {
  load_config
  printf 'LAB_STATE_FILE=%q\n' "$STATE_FILE"
  printf 'LAB_STATE_DIR=%q\n' "$STATE_DIR"
  printf 'LAB_SSH_KEY=%q\n' "$KEY"
  printf 'LAB_KNOWN_HOSTS=%q\n' "$KNOWN_HOSTS"
  printf 'LAB_SUBNET=%q\n' "$SUBNET"
  printf 'LAB_BRIDGE=%q\n' "$BRIDGE"
  printf 'LAB_BRIDGE_ADDRESS=%q\n' "$BRIDGE_IP"
  printf 'LAB_APT_PROXY=%q\n' "http://$BRIDGE_IP:$APT_PORT"
  printf 'LAB_PREFIX=%q\n' "$PREFIX"
  printf 'LAB_CACHE=%q\n' "$CACHE"
  printf 'LAB_HOSTS_DIR=%q\n' "$HOSTS_DIR"
  printf 'LAB_IMAGE=%q\n' "$(image_dir)"
}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down ;;
  status) shift; cmd_status ;;
  ssh) shift; cmd_ssh "$@" ;;
  env) shift; cmd_env ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
