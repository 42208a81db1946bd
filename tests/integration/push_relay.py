#!/usr/bin/python3
"""An independent push-mode client (Python grpcio) for the verifier's Verifier
service. It has no TPM of its own: it relays to an attestor serving pull mode,
whose messages are the same protocol types (Endorsement, AttestationKey,
CredentialChallenge/Response, QuoteRequest/Response), so every piece of
evidence is genuine and each scenario bends exactly one rule.

  push_relay.py COMMON SCENARIO
COMMON: --stubs DIR --verifier HOST:PORT --attestor HOST:PORT --pki DIR [--db]
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
  known-no-next  known, against pre_issued_requests = false: PASS without a next request
With a database a passing verdict hands out the next quote request
(next_session_id, next_quote), answered by SubmitQuote alone:
  resume         answered: passes, and hands out the one after
  resume-used    the same request answered twice              -> NOT_FOUND
  resume-other   attestor2 presents attestor's request         -> PERMISSION_DENIED;
                 the rightful owner then still passes
  resume-forged  a well-formed id nobody issued, and a malformed one -> NOT_FOUND
  resume-hello   a Hello in between replaces the request       -> NOT_FOUND
  resume-stale   quoted at once, sent after --sleep (> nonce_ttl): not a verdict,
                 a quote request with a fresh nonce, which then passes
"""
import argparse
import os
import sys
import time

from bad_peer import creds


def die(msg):
    print("%s: %s" % (os.path.basename(sys.argv[0]).rsplit(".", 1)[0], msg), file=sys.stderr)
    sys.exit(1)


def load_stubs(stubs):
    """grpc, the message module and the service module generated into stubs."""
    sys.path.insert(0, stubs)
    import grpc
    import attest_pb2
    import attest_pb2_grpc
    return grpc, attest_pb2, attest_pb2_grpc


def expect(code, fn, needle=None):
    """fn() must fail with status code (and details containing needle):
    "CODE: details", else exit 1."""
    import grpc
    try:
        fn()
    except grpc.RpcError as err:
        if err.code() != code:
            die("expected %s, got %s: %s" % (code, err.code(), err.details()))
        if needle and needle not in (err.details() or ""):
            die("status %s does not mention '%s': %s" % (code, needle, err.details()))
        return "%s: %s" % (code.name, err.details())
    die("expected %s, the call succeeded" % code)


class Relay:
    """Push-mode calls to the verifier as any TLS identity of the demo PKI,
    with the genuine evidence of the TPM behind one pull attestor (which
    answers our `verifier` certificate)."""

    def __init__(self, stubs, verifier, attestor, pki):
        self.grpc, self.pb, rpc = load_stubs(stubs)
        self._rpc, self._verifier, self._pki = rpc, verifier, pki
        self.tpm = rpc.AttestorStub(self.grpc.secure_channel(attestor, creds(pki, "verifier")))
        self._ver = {}

    def ver(self, peer):
        """The verifier's Verifier service as TLS identity peer."""
        if peer not in self._ver:
            ch = self.grpc.secure_channel(self._verifier, creds(self._pki, peer))
            self._ver[peer] = self._rpc.VerifierStub(ch)
        return self._ver[peer]

    def evidence(self):
        """This TPM's Endorsement and AttestationKey messages."""
        return self.tpm.GetEndorsement(self.pb.Empty(), timeout=20), self.tpm.GetAttestationKey(self.pb.Empty(), timeout=20)

    def hello(self, peer="attestor", want="credential"):
        e, k = self.evidence()
        ch = self.ver(peer).Hello(self.pb.PushHello(endorsement=e, ak=k), timeout=20)
        if not ch.HasField(want):
            die("Hello did not answer with a %s: %s" % (want, ch))
        return ch

    def activate(self, ch, peer="attestor"):
        r = self.tpm.ActivateCredential(ch.credential, timeout=20)
        nxt = self.ver(peer).Activate(self.pb.PushActivation(session_id=ch.session_id, response=r), timeout=20)
        if not nxt.HasField("quote"):
            die("Activate did not answer with a quote request: %s" % nxt)
        return nxt

    def quote(self, qr):
        return self.tpm.Quote(qr, timeout=20)

    def submit(self, sid, qr, peer="attestor"):
        return self.ver(peer).SubmitQuote(self.pb.PushQuote(session_id=sid, quote=qr), timeout=20)

    def known_pass(self, peer="attestor"):
        """Hello with the AK the verifier knows: a quote request at once,
        answered; the passing Verdict with the next quote request."""
        ch = self.hello(peer, want="quote")
        v = self.submit(ch.session_id, self.quote(ch.quote), peer)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("no passing verdict: %s" % v)
        if not v.verdict.next_session_id or not v.verdict.HasField("next_quote"):
            die("a passing verdict with a database hands out no next quote request: %s" % v)
        return v.verdict

    def resume(self, verdict, peer="attestor", qr=None):
        """Answer the quote request verdict handed out (quoted now unless qr)."""
        return self.submit(verdict.next_session_id, qr or self.quote(verdict.next_quote), peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--verifier", required=True)
    ap.add_argument("--attestor", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--db", action="store_true", help="the verifier has a database")
    ap.add_argument("scenario")
    a = ap.parse_args()
    r = Relay(a.stubs, a.verifier, a.attestor, a.pki)
    grpc, pb, tpm = r.grpc, r.pb, r.tpm
    ver = {n: r.ver(n) for n in ("attestor", "attestor2")}
    hello, activate, quote, known_pass, resume = r.hello, r.activate, r.quote, r.known_pass, r.resume

    s = a.scenario
    C = grpc.StatusCode
    if s == "pass":
        ch = hello()
        q = activate(ch)
        v = ver["attestor"].SubmitQuote(pb.PushQuote(session_id=ch.session_id, quote=quote(q.quote)), timeout=20)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("no passing verdict: %s" % v)
        if bool(v.verdict.next_session_id) != a.db:
            die("a passing verdict %s a next quote request %s a database: %s" %
                ("hands out" if a.db else "cannot hand out", "with" if a.db else "without", v))
        said = "PASS, reattest in %d s" % v.verdict.reattest_seconds
    elif s == "resume":
        first = known_pass()
        v = resume(first)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass") or not v.verdict.next_session_id:
            die("the answered quote request did not pass with the next one: %s" % v)
        if v.verdict.next_session_id == first.next_session_id or v.verdict.next_quote.nonce == first.next_quote.nonce:
            die("the next quote request repeats the last one")
        said = "PASS by SubmitQuote alone, next request %s..." % v.verdict.next_session_id[:17]
    elif s == "resume-used":
        first = known_pass()
        qr = quote(first.next_quote)
        resume(first, qr=qr)
        said = expect(C.NOT_FOUND, lambda: resume(first, qr=qr), "used")
    elif s == "resume-other":
        first = known_pass()
        qr = quote(first.next_quote)
        said = expect(C.PERMISSION_DENIED, lambda: resume(first, "attestor2", qr), "another TLS identity")
        v = resume(first, qr=qr)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("the rightful owner no longer passes: %s" % v)
    elif s == "resume-forged":
        first = known_pass()
        forged = pb.Verdict(next_session_id=first.next_session_id[:17] + os.urandom(16).hex(),
                            next_quote=first.next_quote)
        said = expect(C.NOT_FOUND, lambda: resume(forged), "unknown")
        said += "; " + expect(C.NOT_FOUND, lambda: resume(pb.Verdict(next_session_id="nzz", next_quote=first.next_quote)),
                              "48 lower-case hex digits")
    elif s == "resume-hello":
        first = known_pass()
        qr = quote(first.next_quote)
        known_pass()
        said = expect(C.NOT_FOUND, lambda: resume(first, qr=qr), "replaced")
    elif s == "resume-stale":
        first = known_pass()
        qr = quote(first.next_quote)
        time.sleep(a.sleep)
        v = resume(first, qr=qr)
        if not v.HasField("quote") or v.quote.nonce == first.next_quote.nonce:
            die("a stale quote for a pre-issued nonce was not met by a fresh quote request: %s" % v)
        v = ver["attestor"].SubmitQuote(pb.PushQuote(session_id=v.session_id, quote=quote(v.quote)), timeout=20)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("the fresh quote did not pass: %s" % v)
        said = "a quote made %.1f s before it came: a fresh nonce, then PASS" % a.sleep
    elif s == "known-no-next":
        ch = hello(want="quote")
        v = ver["attestor"].SubmitQuote(pb.PushQuote(session_id=ch.session_id, quote=quote(ch.quote)), timeout=20)
        if not v.HasField("verdict") or not getattr(v.verdict, "pass"):
            die("no passing verdict: %s" % v)
        if v.verdict.next_session_id or v.verdict.HasField("next_quote"):
            die("a next quote request was handed out: %s" % v)
        said = "PASS with the AK activated before, no next quote request"
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
