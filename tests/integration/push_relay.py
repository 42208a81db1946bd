#!/usr/bin/python3
"""An independent push-mode client (Python grpcio) for the verifier's Verifier
service. It has no TPM of its own: it relays to an attestor serving pull mode,
whose messages are the same protocol types (Endorsement, AttestationKey,
CredentialChallenge/Response, QuoteRequest/Response), so every piece of
evidence is genuine and each scenario bends exactly one rule.

  push_relay.py COMMON SCENARIO
COMMON: --stubs DIR --verifier HOST:PORT --attestor HOST:PORT --pki DIR
Scenarios (each prints "ok <scenario>: <what the verifier said>" or exits 1):
  pass           the whole exchange; the verdict passes
  other-peer     attestor2 presents attestor's session id    -> PERMISSION_DENIED
  out-of-order   SubmitQuote before Activate                  -> FAILED_PRECONDITION
  repeat         Activate twice                               -> FAILED_PRECONDITION
  expired        Activate after session_ttl (give --sleep)    -> FAILED_PRECONDITION
  cross-nonce    session A submits a quote over B's nonce     -> PERMISSION_DENIED (nonce)
  unknown        a well-formed id nobody issued               -> NOT_FOUND
  malformed-id   "xyz"                                        -> INVALID_ARGUMENT
  finished       SubmitQuote again after the verdict          -> NOT_FOUND
  bad-quote      a quote with one flipped signature bit       -> PERMISSION_DENIED (signature)
  known          the AK was activated before (the verifier's database knows it):
                 Hello asks for a quote at once, which passes
  known-bad      the same, with one flipped signature bit     -> PERMISSION_DENIED (signature)
"""
import argparse
import os
import sys
import time


def die(msg):
    print("relay: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--verifier", required=True)
    ap.add_argument("--attestor", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("scenario")
    a = ap.parse_args()
    sys.path.insert(0, a.stubs)
    import grpc
    import attest_pb2 as pb
    import attest_pb2_grpc as rpc

    def creds(name):
        rd = lambda f: open(os.path.join(a.pki, f), "rb").read()
        return grpc.ssl_channel_credentials(rd("ca.pem"), rd(name + ".key"), rd(name + ".pem"))

    tpm = rpc.AttestorStub(grpc.secure_channel(a.attestor, creds("verifier")))
    ver = {n: rpc.VerifierStub(grpc.secure_channel(a.verifier, creds(n))) for n in ("attestor", "attestor2")}

    def hello(peer="attestor", want="credential"):
        e = tpm.GetEndorsement(pb.Empty(), timeout=20)
        k = tpm.GetAttestationKey(pb.Empty(), timeout=20)
        ch = ver[peer].Hello(pb.PushHello(endorsement=e, ak=k), timeout=20)
        if not ch.HasField(want):
            die("Hello did not answer with a %s: %s" % (want, ch))
        return ch

    def activate(ch, peer="attestor"):
        r = tpm.ActivateCredential(ch.credential, timeout=20)
        nxt = ver[peer].Activate(pb.PushActivation(session_id=ch.session_id, response=r), timeout=20)
        if not nxt.HasField("quote"):
            die("Activate did not answer with a quote request: %s" % nxt)
        return nxt

    def quote(qr):
        return tpm.Quote(qr, timeout=20)

    def expect(code, fn, needle=None):
        try:
            fn()
        except grpc.RpcError as err:
            if err.code() != code:
                die("expected %s, got %s: %s" % (code, err.code(), err.details()))
            if needle and needle not in (err.details() or ""):
                die("status %s does not mention '%s': %s" % (code, needle, err.details()))
            return "%s: %s" % (code.name, err.details())
        die("expected %s, the call succeeded" % code)

    s = a.scenario
    C = grpc.StatusCode
    if s == "pass":
        ch = hello()
        q = activate(ch)
        v = ver["attestor"].SubmitQuote(pb.PushQuote(session_id=ch.session_id, quote=quote(q.quote)), timeout=20)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("no passing verdict: %s" % v)
        said = "PASS, reattest in %d s" % v.verdict.reattest_seconds
    elif s in ("known", "known-bad"):
        ch = hello(want="quote")
        qr = quote(ch.quote)
        if s == "known":
            v = ver["attestor"].SubmitQuote(pb.PushQuote(session_id=ch.session_id, quote=qr), timeout=20)
            if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
                die("no passing verdict: %s" % v)
            said = "PASS with the AK activated before, no activation"
        else:
            sig = bytearray(qr.signature)
            sig[-1] ^= 1
            qr.signature = bytes(sig)
            said = expect(C.PERMISSION_DENIED, lambda: ver["attestor"].SubmitQuote(
                pb.PushQuote(session_id=ch.session_id, quote=qr), timeout=20), "signature")
    elif s == "other-peer":
        ch = hello("attestor")
        r = tpm.ActivateCredential(ch.credential, timeout=20)
        said = expect(C.PERMISSION_DENIED, lambda: ver["attestor2"].Activate(
            pb.PushActivation(session_id=ch.session_id, response=r), timeout=20), "another TLS identity")
        # The rightful owner can still go on: the intruder changed nothing.
        activate(ch, "attestor")
    elif s == "out-of-order":
        ch = hello()
        said = expect(C.FAILED_PRECONDITION, lambda: ver["attestor"].SubmitQuote(
            pb.PushQuote(session_id=ch.session_id, quote=pb.QuoteResponse(attest=b"\0", signature=b"\0")),
            timeout=20), "not allowed in state")
    elif s == "repeat":
        ch = hello()
        r = tpm.ActivateCredential(ch.credential, timeout=20)
        ver["attestor"].Activate(pb.PushActivation(session_id=ch.session_id, response=r), timeout=20)
        said = expect(C.FAILED_PRECONDITION, lambda: ver["attestor"].Activate(
            pb.PushActivation(session_id=ch.session_id, response=r), timeout=20), "not allowed in state")
    elif s == "expired":
        ch = hello()
        r = tpm.ActivateCredential(ch.credential, timeout=20)
        time.sleep(a.sleep)
        said = expect(C.FAILED_PRECONDITION, lambda: ver["attestor"].Activate(
            pb.PushActivation(session_id=ch.session_id, response=r), timeout=20), "expired")
    elif s == "cross-nonce":
        cha, chb = hello(), hello()
        qa, qb = activate(cha), activate(chb)
        stolen = quote(qb.quote)
        said = expect(C.PERMISSION_DENIED, lambda: ver["attestor"].SubmitQuote(
            pb.PushQuote(session_id=cha.session_id, quote=stolen), timeout=20), "nonce")
    elif s == "unknown":
        said = expect(C.NOT_FOUND, lambda: ver["attestor"].Activate(
            pb.PushActivation(session_id="0" * 8 + os.urandom(16).hex(), response=pb.CredentialResponse()),
            timeout=20), "unknown")
    elif s == "malformed-id":
        said = expect(C.INVALID_ARGUMENT, lambda: ver["attestor"].Activate(
            pb.PushActivation(session_id="xyz", response=pb.CredentialResponse()), timeout=20), "session id")
    elif s == "finished":
        ch = hello()
        q = activate(ch)
        resp = quote(q.quote)
        ver["attestor"].SubmitQuote(pb.PushQuote(session_id=ch.session_id, quote=resp), timeout=20)
        said = expect(C.NOT_FOUND, lambda: ver["attestor"].SubmitQuote(
            pb.PushQuote(session_id=ch.session_id, quote=resp), timeout=20), "finished")
    elif s == "bad-quote":
        ch = hello()
        q = activate(ch)
        resp = quote(q.quote)
        sig = bytearray(resp.signature)
        sig[-1] ^= 1
        resp.signature = bytes(sig)
        said = expect(C.PERMISSION_DENIED, lambda: ver["attestor"].SubmitQuote(
            pb.PushQuote(session_id=ch.session_id, quote=resp), timeout=20), "quote: ")
    else:
        die("unknown scenario " + s)
    print("ok %s: %s" % (s, said))


if __name__ == "__main__":
    main()
