#!/usr/bin/env bash
# Builds Cluster.sln and runs every test project in it, one after another so that the failover
# timings of the lab tests are not measured on a machine busy with other tests. Ends with the
# line "N passed, N failed, N skipped" and exits non-zero when any test failed or a project
# could not run.
#
# Usage: scripts/test.sh
# Needs the .NET 10 SDK. As root it installs the Debian packages the lab tests need when they
# are missing; the lab tests skip without root, or fail with the reason under CI=true.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/prepare.sh

require_dotnet
install_lab_packages

dotnet build Cluster.sln -nologo -v quiet -clp:NoSummary

results=$(mktemp -d /tmp/tandem-test-results.XXXXXX)
passed=0
failed=0
skipped=0
broken_projects=()
failed_tests=()

# Prints "  <test name>: <first line of its message>" for each failed result in a .trx file.
list_failed_tests() {
    python3 - "$1" <<'PYTHON'
import sys
import xml.etree.ElementTree as tree

namespace = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for result in tree.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", namespace):
    if result.get("outcome") in ("Failed", "Error", "Timeout", "Aborted"):
        message = result.findtext(".//t:Message", default="", namespaces=namespace).strip()
        first_line = message.splitlines()[0] if message else "no message"
        print(f"  {result.get('testName')}: {first_line[:300]}")
PYTHON
}

# The cluster tests go last: they are the slowest and need the other builds anyway.
mapfile -t projects < <(dotnet sln Cluster.sln list | grep -E '[Tt]ests?\.csproj$' | sort | awk '/cluster-tests/ { last[++n] = $0; next } { print } END { for (i = 1; i <= n; i++) print last[i] }')

for project in "${projects[@]}"; do
    name=$(basename "$project" .csproj)
    trx="$results/$name.trx"
    echo "=== $name" >&2
    started=$(date +%s)

    # 30 minutes per project bounds a hung test host; the suite itself takes far less.
    if ! timeout --kill-after=60 1800 dotnet test "$project" --no-build -nologo \
            --logger "trx;LogFileName=$trx" --logger "console;verbosity=normal"; then
        broken_projects+=("$name")
    fi

    echo "=== $name took $(( $(date +%s) - started )) s" >&2
    if [ ! -f "$trx" ]; then
        echo "No test results from $name: its test host did not run to the end." >&2
        failed=$((failed + 1))
        continue
    fi

    # One outcome per test result: Passed, Failed or NotExecuted (skipped).
    outcomes=$(grep -o '<UnitTestResult [^>]*' "$trx" | grep -o 'outcome="[A-Za-z]*"' || true)
    passed=$((passed + $(grep -c '"Passed"' <<<"$outcomes" || true)))
    failed=$((failed + $(grep -c -E '"(Failed|Error|Timeout|Aborted)"' <<<"$outcomes" || true)))
    skipped=$((skipped + $(grep -c '"NotExecuted"' <<<"$outcomes" || true)))
    failed_tests+=("$(list_failed_tests "$trx" || true)")
done

# CI shows only the end of the output, so the failed tests are repeated here with their messages.
if [ -n "$(printf '%s' "${failed_tests[@]}")" ]; then
    echo "Failed tests:" >&2
    for lines in "${failed_tests[@]}"; do
        if [ -n "$lines" ]; then
            printf '%s\n' "$lines" >&2
        fi
    done
fi

if [ "${#broken_projects[@]}" -gt 0 ]; then
    echo "Test projects that failed: ${broken_projects[*]}" >&2
fi

rm -rf "$results"
echo "$passed passed, $failed failed, $skipped skipped"

if [ "$failed" -gt 0 ] || [ "${#broken_projects[@]}" -gt 0 ]; then
    exit 1
fi
