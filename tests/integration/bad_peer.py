#!/usr/bin/python3
"""Bad peers for our gRPC servers (the verifier's push service, the attestor's
pull service): each mode misbehaves in one way and checks what the server says.

  bad_peer.py idle  --target HOST:PORT --count N --seconds S
      N TCP connections that connect and send nothing, held S seconds.
  bad_peer.py calls --stubs DIR --target HOST:PORT --pki DIR --service verifier|attestor
      garbage bytes as each method's request  -> INVALID_ARGUMENT "malformed request"
      no request message at all (half-close) -> INVALID_ARGUMENT "missing request message"
      a request over 4 MiB                    -> RESOURCE_EXHAUSTED
      unknown methods                         -> UNIMPLEMENTED "method not implemented"
      (verifier) Hello with a bogus endorsement, and an empty Hello -> INVALID_ARGUMENT
  bad_peer.py stall --target HOST:PORT --pki DIR --service verifier|attestor --count N --limit S
      N calls whose headers go out but whose request never does (no message, no
      half-close): the server must cancel each one by itself within S seconds.
  bad_peer.py hog --target HOST:PORT --pki DIR --service verifier|attestor --count N
      N stalled calls of one identity, the most one identity may hold: its next
      call -> RESOURCE_EXHAUSTED "N calls in flight", while another identity's
      call is served; once the N calls end, the first identity is served again.
  bad_peer.py identity --target HOST:PORT --pki DIR --service verifier|attestor --cert F --key F --needle TEXT
      a caller of the fleet CA whose certificate's identity the server may not
      take (too long, odd bytes): every method -> UNAUTHENTICATED with TEXT.
Each check prints "ok <case>: <status>: <details>"; any other outcome exits 1.
"""
import argparse
import os
import socket
import sys
import threading
import time

C = None  # grpc.StatusCode, once grpc is imported

SERVICES = {
    "verifier": ("attest.v1.Verifier", ["Hello", "Activate", "SubmitQuote", "ConfirmSecrets"]),
    "attestor": ("attest.v1.Attestor",
                 ["GetEndorsement", "GetAttestationKey", "ActivateCredential", "Quote", "DeliverSecrets"]),
}

# Bytes no protobuf parser may accept, whatever the message type: a field
# whose length runs past the end, a tag varint longer than 10 bytes, wire type
# 7 (does not exist), a group end without a start.
GARBAGE = {
    "truncated-length": b"\x0a\x7fabc",
    "overlong-varint": b"\xff" * 11,
    "wire-type-7": b"\x0f\x00",
    "stray-group-end": b"\x0c",
}


def die(msg):
    print("bad_peer: " + msg, file=sys.stderr)
    sys.exit(1)


def creds(pki, name):
    rd = lambda f: open(os.path.join(pki, f), "rb").read()
    import grpc
    return grpc.ssl_channel_credentials(rd("ca.pem"), rd(name + ".key"), rd(name + ".pem"))


def client_name(service):
    # The verifier serves attestors; the attestor serves the verifier.
    return "attestor" if service == "verifier" else "verifier"


def expect(case, code, needle, fn):
    import grpc
    try:
        fn()
    except grpc.RpcError as err:
        details = err.details() or ""
        if err.code() != code:
            die("%s: expected %s, got %s: %s" % (case, code.name, err.code().name, details))
        if needle not in details:
            die("%s: %s does not say '%s': %s" % (case, code.name, needle, details))
        print("ok %s: %s: %s" % (case, code.name, details))
        return
    die("%s: expected %s, the call succeeded" % (case, code.name))


def raw_unary(ch, path):
    return ch.unary_unary(path, request_serializer=None, response_deserializer=None)


def raw_stream(ch, path):
    return ch.stream_unary(path, request_serializer=None, response_deserializer=None)


def mode_idle(a):
    socks = []
    for _ in range(a.count):
        host, port = a.target.rsplit(":", 1)
        socks.append(socket.create_connection((host, int(port)), timeout=5))
    print("ok idle: %d TCP connections open, sending nothing for %g s" % (len(socks), a.seconds), flush=True)
    time.sleep(a.seconds)
    for s in socks:
        s.close()


def mode_calls(a):
    import grpc
    sys.path.insert(0, a.stubs)
    import attest_pb2 as pb
    svc, methods = SERVICES[a.service]
    opts = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    ch = grpc.secure_channel(a.target, creds(a.pki, client_name(a.service)), options=opts)
    for m in methods:
        path = "/%s/%s" % (svc, m)
        for name, junk in GARBAGE.items():
            expect("garbage %s %s" % (m, name), C.INVALID_ARGUMENT, "malformed request",
                   lambda: raw_unary(ch, path)(junk, timeout=10))
        expect("no message %s" % m, C.INVALID_ARGUMENT, "missing request message",
               lambda: raw_stream(ch, path)(iter(()), timeout=10))
    big = os.urandom(4 * 1024 * 1024 + 1)
    expect("oversized %s (4 MiB + 1)" % methods[0], C.RESOURCE_EXHAUSTED, "larger than max",
           lambda: raw_unary(ch, "/%s/%s" % (svc, methods[0]))(big, timeout=20))
    other = SERVICES["attestor" if a.service == "verifier" else "verifier"]
    for path in ("/%s/NoSuchMethod" % svc, "/%s/%s" % (other[0], other[1][0]), "/x.Y/Z", "/%s/" % svc):
        expect("unknown method %s" % path, C.UNIMPLEMENTED, "method not implemented",
               lambda: raw_unary(ch, path)(b"", timeout=10))
    if a.service == "verifier":
        hello = raw_unary(ch, "/%s/Hello" % svc)
        expect("Hello empty", C.INVALID_ARGUMENT, "no endorsement", lambda: hello(b"", timeout=10))
        bogus = pb.PushHello(
            endorsement=pb.Endorsement(eks=[pb.EndorsementKey(alg=1, public=b"\x00\x04junk",
                                                              certificate=b"not a certificate")]),
            ak=pb.AttestationKey(public=b"\x00\x04junk", parent_ek_alg=1))
        expect("Hello bogus endorsement", C.INVALID_ARGUMENT, a.bogus_needle,
               lambda: hello(bogus.SerializeToString(), timeout=10))
        bad_alg = pb.PushHello(endorsement=pb.Endorsement(eks=[pb.EndorsementKey(alg=0x99, public=b"x")]),
                               ak=pb.AttestationKey(public=b"x", parent_ek_alg=1))
        expect("Hello EK algorithm 0x99", C.INVALID_ARGUMENT, "EK 0: algorithm 0x0099",
               lambda: hello(bad_alg.SerializeToString(), timeout=10))
    ch.close()


def open_stalled(a, paths, timeout, release):
    """a.count calls of the service's client identity, one connection each (as
    separate clients would be), on paths in turn: their headers go out, their
    request does not until release is set (then they half-close without one)."""
    import grpc

    def never():
        release.wait()
        return
        yield b""  # a generator that yields nothing until released

    chans = [grpc.secure_channel(a.target, creds(a.pki, client_name(a.service))) for _ in range(a.count)]
    futs = [raw_stream(c, paths[i % len(paths)]).future(never(), timeout=timeout) for i, c in enumerate(chans)]
    return chans, futs


def mode_stall(a):
    import grpc
    svc, methods = SERVICES[a.service]
    release = threading.Event()
    start = time.monotonic()
    chans, futs = open_stalled(a, ["/%s/%s" % (svc, m) for m in methods], a.limit + 30, release)
    print("ok stall: %d calls opened, no request sent" % a.count, flush=True)
    results = []
    for f in futs:
        left = a.limit - (time.monotonic() - start)
        try:
            f.result(timeout=max(left, 0.1))
            die("stall: a call without a request succeeded")
        except grpc.FutureTimeoutError:
            release.set()
            die("stall: a call was still open after %g s: the server never cancelled it" % a.limit)
        except grpc.RpcError as err:
            results.append((time.monotonic() - start, err.code(), err.details() or ""))
    release.set()
    for t, code, details in results:
        if code != C.CANCELLED:
            die("stall: the server ended a stalled call with %s: %s (want CANCELLED)" % (code.name, details))
        if t < a.min:
            die("stall: a stalled call ended after %.1f s, before the stall limit (%g s)" % (t, a.min))
    ts = [r[0] for r in results]
    print("ok stall: all %d stalled calls cancelled by the server after %.1f..%.1f s: %s: %s" %
          (len(results), min(ts), max(ts), results[0][1].name, results[0][2]))
    for c in chans:
        c.close()


def mode_identity(a):
    import grpc
    svc, methods = SERVICES[a.service]
    rd = lambda f: open(f, "rb").read()
    ch = grpc.secure_channel(a.target, grpc.ssl_channel_credentials(
        rd(os.path.join(a.pki, "ca.pem")), rd(a.key), rd(a.cert)))
    for m in methods:
        expect("identity %s" % m, C.UNAUTHENTICATED, a.needle,
               lambda: raw_unary(ch, "/%s/%s" % (svc, m))(b"", timeout=10))
    ch.close()


def mode_hog(a):
    import grpc
    svc, methods = SERVICES[a.service]
    path = "/%s/%s" % (svc, methods[0])
    junk = GARBAGE["wire-type-7"]  # any call the server reads answers "malformed request"
    release = threading.Event()
    me = client_name(a.service)
    other = "verifier" if me == "attestor" else "attestor"
    chans, futs = open_stalled(a, [path], 60, release)
    mine = grpc.secure_channel(a.target, creds(a.pki, me))
    theirs = grpc.secure_channel(a.target, creds(a.pki, other))
    # The stalled calls reach the server over their own connections: until all
    # of them hold a slot, a call of the same identity is still served.
    deadline = time.monotonic() + 20
    while True:
        try:
            raw_unary(mine, path)(junk, timeout=10)
            release.set()
            die("hog: a garbage request succeeded")
        except grpc.RpcError as err:
            if err.code() == C.RESOURCE_EXHAUSTED:
                break
            if err.code() != C.INVALID_ARGUMENT or time.monotonic() > deadline:
                release.set()
                die("hog: identity %s with %d stalled calls was never refused: %s: %s" %
                    (me, a.count, err.code().name, err.details()))
        time.sleep(0.1)
    expect("identity %s, a call beyond its %d stalled ones" % (me, a.count), C.RESOURCE_EXHAUSTED,
           "has %d calls in flight" % a.count, lambda: raw_unary(mine, path)(junk, timeout=10))
    expect("identity %s meanwhile" % other, C.INVALID_ARGUMENT, "malformed request",
           lambda: raw_unary(theirs, path)(junk, timeout=10))
    release.set()  # the stalled calls half-close without a message and end
    for f in futs:
        try:
            f.result(timeout=20)
        except grpc.RpcError:
            pass
    expect("identity %s once its calls ended" % me, C.INVALID_ARGUMENT, "malformed request",
           lambda: raw_unary(mine, path)(junk, timeout=10))
    for c in chans + [mine, theirs]:
        c.close()


def main():
    global C
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["idle", "calls", "stall", "hog", "identity"])
    ap.add_argument("--target", required=True)
    ap.add_argument("--stubs")
    ap.add_argument("--pki")
    ap.add_argument("--service", choices=list(SERVICES), default="verifier")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--limit", type=float, default=40.0, help="stall: the server must cancel by then")
    ap.add_argument("--min", type=float, default=0.0, help="stall: and not before this")
    ap.add_argument("--bogus-needle", default="EK", help="calls: what the bogus Hello's error must say")
    ap.add_argument("--cert", help="identity: the caller's certificate")
    ap.add_argument("--key", help="identity: its key")
    ap.add_argument("--needle", help="identity: what the refusal must say")
    a = ap.parse_args()
    if a.mode == "idle":
        mode_idle(a)
        return
    import grpc
    C = grpc.StatusCode
    if a.mode == "calls":
        mode_calls(a)
    elif a.mode == "hog":
        mode_hog(a)
    elif a.mode == "identity":
        mode_identity(a)
    else:
        mode_stall(a)


if __name__ == "__main__":
    main()
