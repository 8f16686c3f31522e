# shellcheck shell=bash
# The recipe of the lab's base image, sourced by lab.sh.
#
# lab.sh caches the built image under $LAB_CACHE/image-<hash>, where <hash> is
# the sha256 of THIS FILE: change anything here and the next `lab.sh up`
# rebuilds the image (and prunes the old one). Keep everything that shapes the
# image in this file, and nothing that depends on the lab's subnet or host
# names (those go into each host's own overlay layer at `up`), so one image
# serves every lab configuration.

LAB_IMAGE_SUITE=bookworm
LAB_IMAGE_MIRROR=http://deb.debian.org/debian
LAB_IMAGE_SECURITY_MIRROR=http://deb.debian.org/debian-security

# Minimal on purpose: only what every Rampart-managed server is assumed to
# have before Rampart touches it (SSH with SFTP, python3, sudo, iproute2,
# nftables, curl + CA certificates). nginx, HAProxy, MariaDB... are installed by
# the tests/Rampart through apt, like on a real server. procps and
# iputils-ping are there for humans debugging a host.
LAB_IMAGE_PACKAGES=(
  systemd systemd-sysv dbus
  openssh-server openssh-sftp-server
  python3 sudo
  iproute2 nftables
  curl ca-certificates
  procps iputils-ping
)

# Units that either fail or make no sense in a container whose network is set
# up from outside (and that would otherwise leave `systemctl
# is-system-running` at "degraded" or wander off to the internet):
#  - gettys: nspawn runs with --console=passive, nobody logs in on a tty;
#  - networkd/resolved/timesyncd: the network namespace is configured by
#    lab.sh and the clock belongs to the machine;
#  - apt-daily*: a background apt run would hold the dpkg lock while a test
#    installs packages;
#  - e2scrub/fstrim: no block devices of their own.
LAB_IMAGE_MASKED_UNITS=(
  getty.target getty@.service serial-getty@.service console-getty.service
  container-getty@.service
  systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service
  systemd-resolved.service systemd-timesyncd.service
  apt-daily.service apt-daily.timer apt-daily-upgrade.service apt-daily-upgrade.timer
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
)

# Run a command inside the image being built. A private mount namespace means
# the /proc mount disappears with the command even if lab.sh is killed.
lab_image_chroot() {
  local root=$1; shift
  unshare --mount --propagation private -- \
    sh -c 'root=$1; shift; mount -t proc proc "$root/proc" && exec chroot "$root" "$@"' \
    sh "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 HOME=/root "$@"
}

# lab_image_build <target dir> <http proxy URL>
# All downloads go through the lab's apt-cacher-ng (<proxy>), so a rebuild
# reuses packages already fetched and nothing but Debian's archive is asked.
lab_image_build() {
  local root=$1 proxy=$2
  local include
  include=$(IFS=,; echo "${LAB_IMAGE_PACKAGES[*]}")

  # debootstrap mounts /proc and /sys in the target while it runs; a private
  # mount namespace guarantees those mounts vanish if it dies half-way.
  http_proxy=$proxy unshare --mount --propagation private -- \
    debootstrap --variant=minbase --include="$include" \
    "$LAB_IMAGE_SUITE" "$root" "$LAB_IMAGE_MIRROR"

  # A real server gets security and point-release updates.
  cat >"$root/etc/apt/sources.list" <<EOF
deb $LAB_IMAGE_MIRROR $LAB_IMAGE_SUITE main
deb $LAB_IMAGE_MIRROR $LAB_IMAGE_SUITE-updates main
deb $LAB_IMAGE_SECURITY_MIRROR $LAB_IMAGE_SUITE-security main
EOF

  # Packages must not start services inside the build chroot.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  lab_image_chroot "$root" apt-get -q -o Acquire::http::Proxy="$proxy" update
  lab_image_chroot "$root" apt-get -q -y -o Acquire::http::Proxy="$proxy" \
    -o Dpkg::Options::=--force-confold dist-upgrade
  lab_image_chroot "$root" apt-get clean
  rm -f "$root/usr/sbin/policy-rc.d"
  # Package lists go stale; hosts run `apt-get update` like a fresh server.
  rm -rf "$root"/var/lib/apt/lists/*

  local unit
  for unit in "${LAB_IMAGE_MASKED_UNITS[@]}"; do
    ln -sfn /dev/null "$root/etc/systemd/system/$unit"
  done

  # Key-only root login, and no reverse DNS lookups (hosts have no resolver).
  cat >"$root/etc/ssh/sshd_config.d/10-rampart-lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF

  # The journal lives in memory: hosts are disposable and disks are shared.
  mkdir -p "$root/etc/systemd/journald.conf.d"
  cat >"$root/etc/systemd/journald.conf.d/10-rampart-lab.conf" <<'EOF'
[Journal]
Storage=volatile
RuntimeMaxUse=16M
EOF

  # Per-host identity is created at `up`: never ship host keys, a machine-id
  # or a hostname in the shared image.
  rm -f "$root"/etc/ssh/ssh_host_*
  rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id" "$root/etc/hostname"
  rm -rf "$root"/var/log/journal/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/tmp/*
}
