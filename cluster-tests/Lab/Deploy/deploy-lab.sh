#!/usr/bin/env bash
# Boots and removes the Debian hosts of one deployment test run: a bridge in a namespace of its own,
# one network namespace per host, and one systemd-nspawn container per host on an overlay of the
# cached root file system. Addresses come from 203.0.113.0/24 (TEST-NET-3, RFC 5737) and no
# namespace gets a route out, so nothing can reach beyond the bridge.
#
# Usage:
#   deploy-lab.sh up RUN_ID RUN_DIR ROOTFS PUBLIC_KEY   create the network, boot the hosts
#   deploy-lab.sh down RUN_ID RUN_DIR                   stop the hosts, remove everything
#
# Hosts (name, address): a 203.0.113.11, b 203.0.113.12, redis 203.0.113.20. The controller
# namespace (ctl, 203.0.113.50) runs no container: ansible-playbook runs there with ip netns exec.
set -euo pipefail

readonly HOSTS=(a b redis)
readonly PREFIX_LENGTH=24

address_of() {
    case "$1" in
        a) echo 203.0.113.11 ;;
        b) echo 203.0.113.12 ;;
        redis) echo 203.0.113.20 ;;
        ctl) echo 203.0.113.50 ;;
    esac
}

up() {
    local run_id=$1 run_dir=$2 rootfs=$3 public_key=$4
    local bridge_ns="tdm-$run_id-bridge" bridge="tdm-$run_id-br"
    ip netns add "$bridge_ns"
    ip -n "$bridge_ns" link add "$bridge" type bridge
    ip -n "$bridge_ns" link set "$bridge" up

    local host
    for host in "${HOSTS[@]}" ctl; do
        # Interface names have at most 15 characters, so the bridge ports use two-letter suffixes.
        local ns="tdm-$run_id-dn-$host" port="tdm-$run_id-p${host:0:2}"
        ip netns add "$ns"
        ip -n "$bridge_ns" link add "$port" type veth peer name eth0 netns "$ns"
        ip -n "$bridge_ns" link set "$port" master "$bridge" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(address_of "$host")/$PREFIX_LENGTH" dev eth0
        ip -n "$ns" link set eth0 up
    done

    for host in "${HOSTS[@]}"; do
        local dir="$run_dir/hosts/$host"
        mkdir -p "$dir/upper" "$dir/work" "$dir/root"
        mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
        touch "$dir/mounted"
        install -d -m 0700 "$dir/root/root/.ssh"
        install -m 0600 "$public_key" "$dir/root/root/.ssh/authorized_keys"
        echo "tdm-$run_id-$host" > "$dir/root/etc/hostname"

        # --register=no and --keep-unit: the host has no systemd of its own to register the
        # container with. The console is passive so the container never waits for a terminal.
        # systemd-nspawn grants CAP_NET_ADMIN only for networks it creates itself, not with
        # --network-namespace-path, and the node needs it for the virtual addresses.
        setsid systemd-nspawn --boot --quiet --console=passive --register=no --keep-unit \
            --capability=CAP_NET_ADMIN \
            --directory="$dir/root" --machine="tdm-$run_id-$host" --hostname="tdm-$run_id-$host" \
            --network-namespace-path="/run/netns/tdm-$run_id-dn-$host" \
            </dev/null >"$dir/console.log" 2>&1 &
        echo $! > "$dir/pid"
    done
}

# Stops one container: SIGTERM makes systemd-nspawn shut the container down cleanly, and
# SIGKILL after 15 s ends it regardless.
stop_host() {
    local pid_file=$1
    [ -f "$pid_file" ] || return 0
    local pid
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null && grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$pid_file"
}

down() {
    local run_id=$1 run_dir=$2
    [[ "$run_id" =~ ^[0-9a-f]{6}$ ]] || { echo "deploy-lab.sh: '$run_id' is not a run id of six hex digits" >&2; exit 2; }

    local host
    for host in "${HOSTS[@]}"; do
        stop_host "$run_dir/hosts/$host/pid"
    done
    for host in "${HOSTS[@]}"; do
        local dir="$run_dir/hosts/$host"
        if mountpoint -q "$dir/root" 2>/dev/null; then
            umount "$dir/root" || umount -l "$dir/root"
        fi
    done

    # Any process still inside a namespace of this run was started by it (a container that
    # escaped the stop above, an ssh left over): end it by PID before removing the namespace.
    local ns
    for ns in $(ip netns list | awk '{ print $1 }' | grep "^tdm-$run_id-" || true); do
        local pids
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    done

    # The run directory holds only what up made: overlay upper and work dirs, logs, keys.
    for host in "${HOSTS[@]}"; do
        local dir="$run_dir/hosts/$host"
        if mountpoint -q "$dir/root" 2>/dev/null; then
            echo "deploy-lab.sh: $dir/root is still mounted, leaving $run_dir in place" >&2
            exit 1
        fi
    done
    rm -rf "$run_dir"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    down) shift; down "$@" ;;
    *) echo "usage: deploy-lab.sh up RUN_ID RUN_DIR ROOTFS PUBLIC_KEY | down RUN_ID RUN_DIR" >&2; exit 2 ;;
esac
