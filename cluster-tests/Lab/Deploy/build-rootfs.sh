#!/usr/bin/env bash
# Builds the Debian 12 root file system that the deployment test boots with systemd-nspawn. A later
# run reuses it when the marker file lists the same packages. The build took about two minutes
# from the Debian mirror that apt already uses on this machine.
#
# Usage: build-rootfs.sh CACHE_DIR
# Prints the path of the root file system on standard output.
set -euo pipefail

cache=${1:?usage: build-rootfs.sh CACHE_DIR}
rootfs="$cache/rootfs-bookworm"
marker="$cache/rootfs-bookworm.complete"

# python3-apt serves Ansible's apt module, and libnss-systemd resolves the dynamic user of
# tandem-node.service, whose home directory .NET needs for its certificate stores.
packages=openssh-server,python3,python3-apt,systemd,libnss-systemd,systemd-sysv,dbus,iproute2,libpcap0.8,redis-server,curl,ca-certificates
# The marker records the package list, so a cache built with another list is built again.
if [ -f "$marker" ] && [ -d "$rootfs" ] && [ "$(cat "$marker")" = "$packages" ]; then
    echo "$rootfs"
    exit 0
fi

mkdir -p "$cache"
# A build that stopped halfway leaves a tree without the marker; debootstrap cannot resume it.
rm -rf "$rootfs" "$rootfs.partial" "$marker"

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

echo "Building the Debian 12 root file system in $rootfs from $mirror (about two minutes)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs.partial" "$mirror" >&2

# The hosts have no network service of their own: addresses come from the test, and no unit
# should wait for a DHCP server or a resolver that does not exist.
rm -f "$rootfs.partial/etc/ssh/ssh_host_"*
echo 'tandem-host' > "$rootfs.partial/etc/hostname"
: > "$rootfs.partial/etc/resolv.conf"
# The SSH host keys are made per host at first boot, so two hosts never share one.
cat > "$rootfs.partial/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys for this host
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
chroot "$rootfs.partial" systemctl enable ssh-host-keys.service ssh.service >&2
# The root file system is an overlay that systemd-nspawn mounts already; there is no fstab to apply.
chroot "$rootfs.partial" systemctl mask systemd-remount-fs.service >&2
# Redis runs only on the host that the inventory names for it; the role enables it there.
chroot "$rootfs.partial" systemctl disable redis-server.service >&2 || true
chroot "$rootfs.partial" apt-get clean >&2

mv "$rootfs.partial" "$rootfs"
echo "$packages" > "$marker"
echo "$rootfs"
