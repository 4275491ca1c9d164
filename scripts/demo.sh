#!/usr/bin/env bash
# Runs the failover demo: builds the cluster in network namespaces, kills the master while a
# client keeps sending requests through the virtual address, prints the takeover report and
# removes everything it made.
#
# Usage: scripts/demo.sh [--json] [--variant process-kill|host-down|graceful-stop] [--keep]
# Needs root on Debian 12 with the .NET 10 SDK; installs redis-server, libpcap0.8, iproute2,
# tcpdump, tshark and keepalived when they are missing. The report goes to standard output, everything
# else (package installation, build, progress) to standard error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/prepare.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "The demo creates network namespaces and needs root; run it as root (for example with sudo)." >&2
    exit 1
fi

require_dotnet
install_lab_packages

echo "Building tandem-node and the drill (Release)..." >&2
dotnet build cluster-tests/Drill/Tandem.ClusterTests.Drill.csproj -c Release -nologo -v quiet -clp:NoSummary >&2

exec dotnet cluster-tests/Drill/bin/Release/net10.0/tandem-drill.dll "$@"
