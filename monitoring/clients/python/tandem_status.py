#!/usr/bin/python3
"""Print a Tandem node's status and cluster view, using only monitoring.proto and Debian's python3-grpcio and python3-grpc-tools.

Usage: tandem_status.py [HOST:PORT]   (default 127.0.0.1:9901)

The stubs are generated from the .proto into a temporary folder at each run, so the script needs nothing else from
this repository. Exit codes follow tandemctl: 0 ok, 1 the node returned an error, 2 bad usage, 3 node unreachable.
"""

import importlib
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

PROTO_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
PROTO_FILE = "tandem/monitoring/v1/monitoring.proto"
TIMEOUT_SECONDS = 5


def well_known_types_path():
    """Return the folder with google/protobuf/*.proto: grpc_tools' own copy, or the system one."""
    for candidate in (os.path.join(os.path.dirname(protoc.__file__), "_proto"), "/usr/include"):
        if os.path.exists(os.path.join(candidate, "google", "protobuf", "timestamp.proto")):
            return candidate
    raise SystemExit("tandem_status: google/protobuf/timestamp.proto not found. Install libprotobuf-dev.")


def generate_stubs(output_dir):
    result = protoc.main([
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known_types_path()}",
        f"--python_out={output_dir}",
        f"--grpc_python_out={output_dir}",
        PROTO_FILE,
    ])
    if result != 0:
        raise SystemExit(f"tandem_status: protoc failed with exit code {result} on {PROTO_FILE}.")
    sys.path.insert(0, output_dir)
    messages = importlib.import_module("tandem.monitoring.v1.monitoring_pb2")
    services = importlib.import_module("tandem.monitoring.v1.monitoring_pb2_grpc")
    return messages, services


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and ":" not in argv[1]):
        print("usage: tandem_status.py [HOST:PORT]", file=sys.stderr)
        return 2
    target = argv[1] if len(argv) == 2 else "127.0.0.1:9901"

    with tempfile.TemporaryDirectory(prefix="tandem-stubs-") as stubs:
        # protoc writes packages without __init__.py; Python 3 imports them as namespace packages.
        messages, services = generate_stubs(stubs)
        with grpc.insecure_channel(target) as channel:
            client = services.NodeMonitorStub(channel)
            try:
                status = client.GetStatus(messages.GetStatusRequest(), timeout=TIMEOUT_SECONDS)
                cluster = get_cluster(client, messages)
            except grpc.RpcError as error:
                unreachable = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                print(f"tandem_status: {target}: {error.code().name}: {error.details()}", file=sys.stderr)
                return 3 if unreachable else 1

        state_name = messages.VrrpState.Name
        print(f"node {status.node_name} version {status.version} up {status.uptime.seconds} s")
        for router in status.virtual_routers:
            master = "self" if router.state == messages.VRRP_STATE_MASTER else (
                f"{router.master_heard.address} ({router.master_heard.priority})" if router.HasField("master_heard") else "-")
            print(f"  vrid {label(router.vrid, router.name)}: {state_name(router.state)}, priority {router.configured_priority}, "
                  f"master {master}, holds {', '.join(router.virtual_addresses_held) or '-'}")
        destinations = [d for c in status.proxy.clusters for d in c.destinations]
        print(f"  proxy {status.proxy.listen_endpoint}: {len(destinations)} destinations, "
              f"{status.proxy.requests} requests, {status.proxy.failures} failures")
        print(f"  store {messages.SessionStoreKind.Name(status.session_store.kind)}, "
              f"{messages.StoreConnectionState.Name(status.session_store.connection_state)}")
        print(f"  certificate {status.certificate.subject}, {status.certificate.days_left} days left")
        if cluster is not None:
            print_cluster(cluster, messages)
    return 0


def get_cluster(client, messages):
    """Return the node's cluster view, or None from a node that predates GetCluster."""
    try:
        return client.GetCluster(messages.GetClusterRequest(), timeout=TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise


def print_cluster(cluster, messages):
    if cluster.peers_available:
        print(f"cluster as {cluster.reporting_node} sees it:")
    else:
        print(f"cluster as {cluster.reporting_node} sees it, incomplete: reading the heartbeats failed ({cluster.peers_error})")
    for member in cluster.members:
        if member.self:
            age = "live"
        else:
            age = f"{member.age.ToTimedelta().total_seconds():.1f} s old"
            if member.stale:
                age += ", stale"
        print(f"  {member.status.node_name}: {age}")
    for router in cluster.virtual_routers:
        print(f"  vrid {label(router.vrid, router.name)}: {messages.Mastership.Name(router.mastership)} {', '.join(router.masters) or '-'}")


def label(vrid, name):
    """Return the VRID and the router's name, leaving out the name "default" of a node's single router, as tandemctl does."""
    return str(vrid) if name in ("", "default") else f"{vrid} {name}"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
