#!/usr/bin/python3
"""Push sessions under one TLS identity that never prove a TPM (first written
by the independent reviews; test_session_flood.sh).
  starve_sessions.py --stubs DIR --verifier HOST:PORT --source HOST:PORT --pki DIR --as NAME --seconds S
                     [--hold N [--poke P]]
Takes an endorsement and AK from any pull attestor (--source: the attacker's
own TPM, or one whose public EK it knows) and, under the stolen identity NAME:
  - by default says Hello with them again and again, never activating: each
    Hello holds a session slot of NAME until session_ttl (or until a newer one
    of NAME displaces it);
  - with --hold N opens N sessions and keeps them busy with steps the verifier
    refuses (an Activate without a response) every P seconds, as if that kept
    them young; one that is gone is opened again.
Prints how many Hellos were accepted and refused (and pokes made)."""
import argparse, os, sys, time
ap = argparse.ArgumentParser()
for o in ("--stubs", "--verifier", "--source", "--pki", "--as"):
    ap.add_argument(o, required=True)
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--hold", type=int, default=0)
ap.add_argument("--poke", type=float, default=1.0)
a = ap.parse_args()
sys.path.insert(0, a.stubs)
import grpc, attest_pb2 as pb, attest_pb2_grpc as rpc
rd = lambda f: open(os.path.join(a.pki, f), "rb").read()
cred = lambda n: grpc.ssl_channel_credentials(rd("ca.pem"), rd(n + ".key"), rd(n + ".pem"))
src = rpc.AttestorStub(grpc.secure_channel(a.source, cred("verifier")))
e = src.GetEndorsement(pb.Empty(), timeout=20)
k = src.GetAttestationKey(pb.Empty(), timeout=20)
ver = rpc.VerifierStub(grpc.secure_channel(a.verifier, cred(getattr(a, "as"))))
ok = refused = pokes = 0
end = time.time() + a.seconds


def hello():
    """A session id, or None when refused."""
    global ok, refused
    try:
        sid = ver.Hello(pb.PushHello(endorsement=e, ak=k), timeout=10).session_id
        ok += 1
        return sid
    except grpc.RpcError as err:
        refused += 1
        if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            print("unexpected:", err.code(), err.details())
        time.sleep(0.005)
        return None


if not a.hold:
    while time.time() < end:
        hello()
else:
    sids = []
    while len(sids) < a.hold and time.time() < end:
        sid = hello()
        if sid:
            sids.append(sid)
    print("holding %d sessions" % len(sids), flush=True)
    while time.time() < end:
        for i, sid in enumerate(sids):
            try:
                ver.Activate(pb.PushActivation(session_id=sid), timeout=10)
            except grpc.RpcError as err:
                pokes += 1
                if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    sids[i] = hello() or sid  # gone: another in its place
        time.sleep(a.poke)
print("hellos accepted %d, refused %d, pokes %d" % (ok, refused, pokes))
