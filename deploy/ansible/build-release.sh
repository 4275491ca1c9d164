#!/usr/bin/env bash
# Builds the release archive that the playbook installs: self-contained publishes of tandem-node
# and tandemctl for linux-x64, so the servers need no .NET runtime and no package mirror.
#
# Usage: deploy/ansible/build-release.sh [VERSION]
# Writes deploy/ansible/dist/tandem-VERSION-linux-x64.tar.gz and prints its path. VERSION
# defaults to the short commit id, with "-dirty" when the work tree has changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

version=${1:-}
if [ -z "$version" ]; then
    version=$(git rev-parse --short HEAD)
    if ! git diff --quiet HEAD -- node vrrp session-store monitoring Directory.Packages.props; then
        version="$version-dirty"
    fi
fi
if ! [[ "$version" =~ ^[A-Za-z0-9._+-]+$ ]]; then
    echo "build-release.sh: version '$version' may contain only letters, digits, '.', '_', '+' and '-'" >&2
    exit 2
fi

staging=$(mktemp -d /tmp/tandem-release.XXXXXX)
trap 'rm -rf "$staging"' EXIT

dotnet publish node/src -c Release -r linux-x64 --self-contained -p:InformationalVersion="$version" \
    -o "$staging/node" -nologo -v quiet >&2
dotnet publish monitoring/cli -c Release -r linux-x64 --self-contained -o "$staging/ctl" -nologo -v quiet >&2
echo "$version" > "$staging/VERSION"

mkdir -p deploy/ansible/dist
archive="deploy/ansible/dist/tandem-$version-linux-x64.tar.gz"
tar -C "$staging" -czf "$archive" VERSION node ctl
echo "$PWD/$archive"
