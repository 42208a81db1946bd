#!/usr/bin/python3
"""The failing nodes of a running verifier, through its Admin service.

An example of the operator's API (proto/admin.proto) from outside C, with
Debian's python3-grpcio. Make the Python stubs once:

    protoc -I/usr/share/doc/tpm-verifier/proto --python_out=. \\
        --grpc_python_out=. --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \\
        admin.proto

(or -Iproto in a source tree), then, with an operator's certificate (one of
the verifier's [admin] operators):

    python3 admin.py --server verifier.example.org:7600 --ca ca.pem \\
        --cert operator.pem --key operator.key

Prints one line per failing node: its EK hash, name or claimed hostname,
when it was last seen, and why it failed (with the reference it was judged
by). Exits 1 when any node fails, 2 when the verifier cannot be asked.
"""
import argparse
import datetime
import sys

import grpc

import admin_pb2
import admin_pb2_grpc


def when(ms):
    if not ms:
        return "never"
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def failing_nodes(stub):
    """Every node in state failed, page by page."""
    token = ""
    while True:
        page = stub.ListNodes(admin_pb2.ListNodesRequest(state="failed", page_size=500, page_token=token),
                              timeout=30)
        yield from page.nodes
        token = page.next_page_token
        if not token:
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="the verifier's [admin] listen, HOST:PORT")
    ap.add_argument("--ca", required=True, help="the CA the verifier's certificate chains to (PEM)")
    ap.add_argument("--cert", required=True, help="an operator's certificate (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--server-name", help="the name in the verifier's certificate, when not the host's")
    args = ap.parse_args()

    with open(args.ca, "rb") as f:
        ca = f.read()
    with open(args.cert, "rb") as f:
        cert = f.read()
    with open(args.key, "rb") as f:
        key = f.read()
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    n = 0
    with grpc.secure_channel(args.server, creds, options=options) as ch:
        stub = admin_pb2_grpc.AdminStub(ch)
        try:
            for node in failing_nodes(stub):
                status = stub.GetNode(admin_pb2.NodeRef(key=node.ek_hash), timeout=30)
                ref = status.reference
                judged = "%s version %d" % (ref.name, ref.version) if ref.name else "the config file's policy"
                # What the attestor claimed (its hostname, the reason's
                # quoted values) is printed with repr escapes, never raw.
                label = node.name or node.hostname or "-"
                print("%s  %-20s last seen %s  judged by %s: %s" % (
                    node.ek_hash[:16], ascii(label)[1:-1], when(node.last_seen_ms), judged,
                    ascii(node.reason)[1:-1]))
                n += 1
        except grpc.RpcError as e:
            print("admin.py: %s: %s: %s" % (args.server, e.code().name, e.details()), file=sys.stderr)
            return 2
    print("%d failing nodes" % n)
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
