#!/usr/bin/python3
"""The Admin service's ListNodes over a large fleet (issue #16).

    bench_admin_list.py VERIFIER PKI STUBS WORK JSON [NODES [ATTESTATIONS]]

Makes a verifier database of NODES nodes (default 100,000) with
ATTESTATIONS verdicts each (default 5): the schema by the verifier itself
(`verifier list` creates and migrates it), the rows by SQL in one
transaction (synthetic nodes: what is measured is the store and the
service, not how the rows came). Then starts `verifier serve` with
[admin] and pages through every node from Python grpcio with page sizes
100 and 1000, timing each page; the reference is the same channel's
ListNodes of page_size 1 (the call's fixed cost), measured in between.
Writes JSON: per page size the p50/p99/max ms, pages, nodes/s.
"""
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

verifier, pki, stubs, work, out = sys.argv[1:6]
nodes = int(sys.argv[6]) if len(sys.argv) > 6 else 100000
per_node = int(sys.argv[7]) if len(sys.argv) > 7 else 5
sys.path.insert(0, stubs)
import grpc  # noqa: E402

import admin_pb2 as pb  # noqa: E402
import admin_pb2_grpc  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


state = os.path.join(work, "state")
os.makedirs(state, exist_ok=True)
vport, aport = free_port(), free_port()
conf = os.path.join(work, "verifier.conf")
with open(conf, "w") as f:
    f.write("[verifier]\nmode = push\nlisten = 127.0.0.1:%d\nstate_dir = %s\nek_roots = %s\nlog_level = warn\n"
            "[tls]\nca = %s/ca.pem\ncert = %s/verifier.pem\nkey = %s/verifier.key\n"
            "[admin]\nlisten = 127.0.0.1:%d\noperators = operator\n" % (vport, state, pki, pki, pki, pki, aport))
subprocess.run([verifier, "list", "--config", conf], check=True, stdout=subprocess.DEVNULL)

t0 = time.time()
db = sqlite3.connect(os.path.join(state, "verifier.db"))
now = int(time.time() * 1000)
rnd = random.Random(7)
states = ["passing"] * 90 + ["failed"] * 5 + ["verified"] * 5
with db:
    db.executemany("INSERT INTO nodes (id, ek_hash, ek_alg, ek_pub, hostname, enrolled_at, last_seen, reset_count,"
                   " restart_count, state, reason, identity) VALUES (?, ?, 1, x'00', ?, ?, ?, 1, 0, ?, ?, ?)",
                   ((i + 1, "%064x" % rnd.getrandbits(256), "host%06d" % i, now - 86400000, now,
                     s, "" if s == "passing" else "PCR value differs from policy", "attestor%d" % i)
                    for i, s in ((i, rnd.choice(states)) for i in range(nodes))))
    db.executemany("INSERT INTO attestations (node_id, time, mode, peer, pass, step, reason) VALUES (?, ?, 'push',"
                   " 'attestor', 1, 'quote', '')",
                   ((i % nodes + 1, now - i) for i in range(nodes * per_node)))
db.close()
fill_s = time.time() - t0

log = open(os.path.join(work, "verifier.log"), "w")
proc = subprocess.Popen([verifier, "serve", "--config", conf], stdout=log, stderr=subprocess.STDOUT)
try:
    def read(n):
        with open(os.path.join(pki, n), "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(read("ca.pem"), read("operator.key"), read("operator.pem"))
    ch = grpc.secure_channel("127.0.0.1:%d" % aport, creds, options=[("grpc.ssl_target_name_override", "verifier")])
    grpc.channel_ready_future(ch).result(timeout=30)
    stub = admin_pb2_grpc.AdminStub(ch)
    ref = []
    result = {"nodes": nodes, "attestations_per_node": per_node, "fill_seconds": round(fill_s, 1), "sizes": {}}
    for size in (100, 1000):
        token, times, seen = "", [], 0
        while True:
            t = time.perf_counter()
            page = stub.ListNodes(pb.ListNodesRequest(page_size=size, page_token=token), timeout=60)
            times.append((time.perf_counter() - t) * 1000)
            seen += len(page.nodes)
            token = page.next_page_token
            if len(times) % 50 == 0:  # the reference, interleaved
                t = time.perf_counter()
                stub.ListNodes(pb.ListNodesRequest(page_size=1), timeout=60)
                ref.append((time.perf_counter() - t) * 1000)
            if not token:
                break
        if seen != nodes:
            sys.exit("bench_admin_list: paged %d nodes of %d" % (seen, nodes))
        q = statistics.quantiles(times, n=100)
        result["sizes"][str(size)] = {"pages": len(times), "p50_ms": round(statistics.median(times), 3),
                                      "p99_ms": round(q[98], 3), "max_ms": round(max(times), 3),
                                      "nodes_per_s": round(nodes / (sum(times) / 1000), 0)}
    result["reference_page_of_1_ms"] = round(statistics.median(ref), 3)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    for size, r in result["sizes"].items():
        print("ListNodes over %d nodes, pages of %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d pages, %.0f nodes/s);"
              " a page of 1: %.2f ms" % (nodes, size, r["p50_ms"], r["p99_ms"], r["max_ms"], r["pages"],
                                          r["nodes_per_s"], result["reference_page_of_1_ms"]))
finally:
    proc.terminate()
    proc.wait(timeout=30)
