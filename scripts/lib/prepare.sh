# Shared steps of demo.sh and test.sh, sourced by both: checks for the .NET SDK and installs the
# Debian packages the namespace lab needs, each only when it is missing. Everything this file
# prints goes to standard error, so a caller's standard output stays clean.

# The Debian packages the lab needs: Redis for the session store, libpcap for the VRRP speaker,
# iproute2 for namespaces and addresses, tcpdump and tshark for the advert capture test, keepalived
# for the interoperability tests. python3-grpcio and python3-grpc-tools run the Python client of
# the monitoring API (monitoring/clients/python). ansible, debootstrap and systemd-container
# (systemd-nspawn) run the deployment test against booted Debian hosts (deploy/ansible), and
# ansible-lint checks the role.
LAB_PACKAGES=(redis-server libpcap0.8 iproute2 tcpdump tshark keepalived python3-grpcio python3-grpc-tools
    ansible ansible-lint debootstrap systemd-container openssh-client curl)

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

require_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        cat >&2 <<'TEXT'
dotnet was not found. Install the .NET 10 SDK, then run this script again. On Debian 12:
  wget https://packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb
  dpkg -i packages-microsoft-prod.deb && apt-get update && apt-get install -y dotnet-sdk-10.0
or see https://learn.microsoft.com/dotnet/core/install/linux-debian
TEXT
        exit 1
    fi

    if ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
        echo "dotnet is installed but has no .NET 10 SDK (found: $(dotnet --list-sdks 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ')). Install dotnet-sdk-10.0." >&2
        exit 1
    fi
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs the packages of LAB_PACKAGES that are missing, without any prompt. Without root it
# only names them, since the lab tests then skip anyway.
install_lab_packages() {
    local missing=()
    local package
    for package in "${LAB_PACKAGES[@]}"; do
        is_installed "$package" || missing+=("$package")
    done

    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi

    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}" >&2
        return 0
    fi

    echo "Installing missing Debian packages: ${missing[*]}" >&2
    # wireshark-common prompts whether non-root users may capture. Preseeding "no" keeps the
    # install from waiting for input.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
