#!/usr/bin/python3
"""The attacker of issue #12 ("proof before state") against the verifier's
push service, in Python grpcio (an independent client). It has no TPM of its
own: like push_relay.py it relays the pull attestors it is given (--tpm, and
--other-tpm for a second TPM), so every piece of evidence is genuine or is
bent in exactly one way. It speaks as any TLS identity of the demo PKI (--as).

  trust_attacker.py COMMON COMMAND [OPTIONS]
COMMON: --stubs DIR --verifier HOST:PORT --pki DIR --tpm HOST:PORT
        [--other-tpm HOST:PORT] [--as IDENTITY] [--hostname CLAIM]
Commands (each prints "ok <command>: <what the verifier said>" or exits 1):
  pass [--save F] [--secrets A,B]  the whole exchange with --tpm's evidence
        answered by --tpm: passes with exactly those secrets delivered (none
        by default); --save keeps the verdict (its next quote request) in F
  refused --code C --needle S     the same Hello is refused with status C, S
  answer --load F [--save F2] [--secrets ..] [--requote]  answer the quote
        request F kept with a quote from --tpm, then every further demand:
        passes; --requote: the first answer must be a fresh quote request
        (a new nonce), not a verdict
  stale --before S --after S [--secrets ..]  pass, wait, quote the next
        request's nonce, wait again, submit: a fresh quote request, then PASS
  foreign-ek --ak garbage|real    Hello with --tpm's EK (public data) and its
        AK with fixedTPM cleared (admission would fail) or its real AK
        -> PERMISSION_DENIED "bound to another TLS identity"
  stolen-quote                    Hello with --tpm's EK and known AK (a quote
        request), answered by --other-tpm's quote over that nonce
        -> PERMISSION_DENIED (signature)
  stolen-activate                 Hello with --tpm's EK and --other-tpm's AK
        (a credential challenge --other-tpm cannot answer)
        -> PERMISSION_DENIED (activation)
  hog --count N                   N Hellos with --tpm's evidence never answered,
        the identity's share: the next Hello RESOURCE_EXHAUSTED while they are
        in their grace (PUSH_DISPLACE_GRACE_MS); past it, the next Hello is
        served and the oldest held one is gone (NOT_FOUND); --other-as
        relaying --other-tpm passes meanwhile; the other held sessions pass
        once answered
  hog-proven --count N            N sessions of --tpm's known AK held at their
        secrets (proven, not finished): the next Hello RESOURCE_EXHAUSTED
        (max_sessions_per_identity); they are left to expire
  flood --count N                 N Hellos with a bogus endorsement
        -> INVALID_ARGUMENT each
  golden --expected HEX           the whole exchange; the quote's status names
        the PCR and bank that differ (--pcr, --bank) but holds no 8 hex
        digits in a row of HEX (the policy's expected value)
"""
import argparse
import os
import time

from push_relay import Relay, die, expect


def claimed(e, claim):
    """Endorsement e with the hostname claim (None: the attestor's own)."""
    if claim is not None:
        e.hostname = claim
    return e


def drive(r, peer, ch):
    """Answer every demand of the verifier with r's TPM until the verdict:
    (Verdict, names of the secrets delivered)."""
    pb, ver, got = r.pb, r.ver(peer), []
    for _ in range(8):
        if ch.HasField("verdict"):
            return ch.verdict, got
        if ch.HasField("credential"):
            resp = r.tpm.ActivateCredential(ch.credential, timeout=20)
            ch = ver.Activate(pb.PushActivation(session_id=ch.session_id, response=resp), timeout=20)
        elif ch.HasField("quote"):
            ch = r.submit(ch.session_id, r.quote(ch.quote), peer)
        elif ch.HasField("secrets"):
            got += [s.name for s in ch.secrets.secrets]
            rec = r.tpm.DeliverSecrets(ch.secrets, timeout=20)
            ch = ver.ConfirmSecrets(pb.PushReceipt(session_id=ch.session_id, receipt=rec), timeout=20)
        else:
            die("the verifier demanded nothing: %s" % ch)
    die("no verdict after 8 steps")


def passed(v, got, want, what):
    """v must pass with exactly the secrets want delivered."""
    if not getattr(v, "pass"):
        die("%s did not pass: %s" % (what, v))
    if sorted(got) != sorted(want):
        die("%s: secrets delivered %s, want %s" % (what, got, want))
    return "PASS, secrets [%s]" % ",".join(got)


def save(path, v):
    if path:
        if not v.next_session_id:
            die("a passing verdict handed out no next quote request: %s" % v)
        with open(path, "wb") as f:
            f.write(v.SerializeToString())


def load(r, path):
    v = r.pb.Verdict()
    with open(path, "rb") as f:
        v.ParseFromString(f.read())
    return v


def hello(r, peer, e, k):
    return r.ver(peer).Hello(r.pb.PushHello(endorsement=e, ak=k), timeout=20)


def cmd_pass(a, r, o):
    e, k = r.evidence()
    v, got = drive(r, a.peer, hello(r, a.peer, claimed(e, a.hostname), k))
    said = passed(v, got, a.want, "the exchange")
    save(a.save, v)
    return said + (", next quote request kept" if a.save else "")


def cmd_refused(a, r, o):
    e, k = r.evidence()
    return expect(getattr(r.grpc.StatusCode, a.code), lambda: hello(r, a.peer, claimed(e, a.hostname), k),
                  a.needle)


def cmd_answer(a, r, o):
    first = load(r, a.load)
    ch = r.resume(first, a.peer)
    if a.requote:
        if not ch.HasField("quote") or ch.quote.nonce == first.next_quote.nonce:
            die("the quote for the pre-issued nonce was not met by a fresh quote request: %s" % ch)
    v, got = drive(r, a.peer, ch)
    said = passed(v, got, a.want, "the answered quote request")
    save(a.save, v)
    return ("a fresh quote request, then " if a.requote else "") + said


def cmd_stale(a, r, o):
    e, k = r.evidence()
    v, got = drive(r, a.peer, hello(r, a.peer, claimed(e, a.hostname), k))
    passed(v, got, a.want, "the first exchange")
    t0 = time.monotonic()
    time.sleep(a.before)
    qr = r.quote(v.next_quote)
    time.sleep(a.after)
    ch = r.resume(v, a.peer, qr)
    if not ch.HasField("quote") or ch.quote.nonce == v.next_quote.nonce:
        die("a quote made %.1f s before it came, %.1f s after its request: not met by a fresh quote request: %s"
            % (a.after, time.monotonic() - t0, ch))
    v2, got = drive(r, a.peer, ch)
    return "quoted %.1f s after the request, sent %.1f s later: a fresh nonce, then %s" % (
        a.before, a.after, passed(v2, got, a.want, "the fresh quote"))


def cmd_foreign_ek(a, r, o):
    e, k = r.evidence()
    if a.ak == "garbage":
        # TPM2B_PUBLIC: size, type, nameAlg, then objectAttributes (big-endian
        # 32 bits): clear fixedTPM (bit 1). It parses; admission would refuse it.
        pub = bytearray(k.public)
        pub[9] &= ~0x02
        k.public = bytes(pub)
    return expect(r.grpc.StatusCode.PERMISSION_DENIED, lambda: hello(r, a.peer, claimed(e, a.hostname), k),
                  "bound to another TLS identity")


def cmd_stolen_quote(a, r, o):
    e, k = r.evidence()
    ch = hello(r, a.peer, claimed(e, a.hostname), k)
    if not ch.HasField("quote"):
        die("Hello with the node's known AK did not ask for a quote at once: %s" % ch)
    return expect(r.grpc.StatusCode.PERMISSION_DENIED, lambda: r.submit(ch.session_id, o.quote(ch.quote), a.peer),
                  "signature")


def cmd_stolen_activate(a, r, o):
    e, _ = r.evidence()
    _, k = o.evidence()
    ch = hello(r, a.peer, claimed(e, a.hostname), k)
    if not ch.HasField("credential"):
        die("Hello with another TPM's AK did not ask for activation: %s" % ch)
    try:
        o.tpm.ActivateCredential(ch.credential, timeout=20)
        die("the other TPM activated a credential made for this node's EK")
    except r.grpc.RpcError as err:
        tpm_said = err.details()
    guess = r.pb.CredentialResponse(secret=os.urandom(32))
    said = expect(r.grpc.StatusCode.PERMISSION_DENIED, lambda: r.ver(a.peer).Activate(
        r.pb.PushActivation(session_id=ch.session_id, response=guess), timeout=20), "activation")
    return "the other TPM could not answer (%s); a guess: %s" % (tpm_said, said)


def cmd_hog(a, r, o):
    C = r.grpc.StatusCode
    e, k = r.evidence()
    held = []
    for _ in range(a.count):
        ch = hello(r, a.peer, claimed(e, a.hostname), k)
        if not ch.HasField("quote") and not ch.HasField("credential"):
            die("Hello %d: no demand: %s" % (len(held) + 1, ch))
        held.append(ch)
    # At its share, a session in its grace is not displaced: a genuine
    # exchange has that long to prove its TPM.
    young = expect(C.RESOURCE_EXHAUSTED, lambda: hello(r, a.peer, e, k), "max_sessions_per_identity")
    # Past it, a new Hello displaces the identity's oldest session that
    # proved nothing: a peer that never finishes only crowds itself out.
    time.sleep(2.3)
    extra = hello(r, a.peer, e, k)
    gone = expect(C.NOT_FOUND, lambda: drive(r, a.peer, held[0]), "unknown or finished")
    ov, got = drive(o, a.other_as, hello(o, a.other_as, *o.evidence()))
    other = passed(ov, got, a.want, "identity %s meanwhile" % a.other_as)
    for ch in held[1:] + [extra]:
        v, _ = drive(r, a.peer, ch)
        if not getattr(v, "pass"):
            die("a held session did not pass once answered: %s" % v)
    return ("%d sessions held, the next Hello refused in their grace (%s), past it served and the oldest "
            "displaced (%s); %s meanwhile: %s; the others passed once answered"
            % (a.count, young, gone, a.other_as, other))


def cmd_hog_proven(a, r, o):
    C = r.grpc.StatusCode
    e, k = r.evidence()
    held = []
    for _ in range(a.count):
        ch = hello(r, a.peer, claimed(e, a.hostname), k)
        if not ch.HasField("quote"):
            die("Hello with the node's known AK did not ask for a quote: %s" % ch)
        ch = r.submit(ch.session_id, r.quote(ch.quote), a.peer)
        if not ch.HasField("secrets"):
            die("a passing quote of a node with a secret did not deliver it: %s" % ch)
        held.append(ch)
    # Sessions that proved their TPM keep their place: the next is refused.
    said = expect(C.RESOURCE_EXHAUSTED, lambda: hello(r, a.peer, e, k), "max_sessions_per_identity")
    if "has %d sessions open" % a.count not in said:
        die("the refusal does not count this identity's %d sessions: %s" % (a.count, said))
    # They are left to expire: the attestor takes one delivery per quote, so
    # only the last could still be answered.
    return "%d proven sessions held at their secret, the next Hello %s" % (a.count, said)


def cmd_flood(a, r, o):
    pb, C = r.pb, r.grpc.StatusCode
    bogus = pb.PushHello(endorsement=pb.Endorsement(eks=[pb.EndorsementKey(alg=1, public=b"\x00\x04junk")],
                                                    hostname="flood"),
                         ak=pb.AttestationKey(public=b"\x00\x04junk", parent_ek_alg=1))
    ver = r.ver(a.peer)
    for i in range(a.count):
        try:
            ver.Hello(bogus, timeout=20)
            die("garbage Hello %d was served" % (i + 1))
        except r.grpc.RpcError as err:
            if err.code() != C.INVALID_ARGUMENT:
                die("garbage Hello %d: %s: %s" % (i + 1, err.code().name, err.details()))
            last = err.details()
    return "%d garbage Hellos, each INVALID_ARGUMENT: %s" % (a.count, last)


def cmd_golden(a, r, o):
    e, k = r.evidence()
    try:
        drive(r, a.peer, hello(r, a.peer, e, k))
        die("a quote against a wrong policy value passed")
    except r.grpc.RpcError as err:
        code, details = err.code(), err.details() or ""
    if code != r.grpc.StatusCode.PERMISSION_DENIED:
        die("expected PERMISSION_DENIED, got %s: %s" % (code.name, details))
    for needle in ("PCR %s" % a.pcr, "bank %s" % a.bank):
        if needle not in details:
            die("the status does not name '%s': %s" % (needle, details))
    want = a.expected.lower()
    for i in range(len(want) - 7):
        if want[i:i + 8] in details.lower():
            die("the status gives away the expected value (%s...): %s" % (want[i:i + 8], details))
    return "PERMISSION_DENIED: %s" % details


COMMANDS = {
    "pass": cmd_pass, "refused": cmd_refused, "answer": cmd_answer, "stale": cmd_stale,
    "foreign-ek": cmd_foreign_ek, "stolen-quote": cmd_stolen_quote, "stolen-activate": cmd_stolen_activate,
    "hog": cmd_hog, "hog-proven": cmd_hog_proven, "flood": cmd_flood, "golden": cmd_golden,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--verifier", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--tpm", required=True, help="the pull attestor whose TPM's evidence is sent")
    ap.add_argument("--other-tpm", help="a second pull attestor (another TPM)")
    ap.add_argument("--as", dest="peer", default="attestor", help="the TLS identity toward the verifier")
    ap.add_argument("--other-as", default="attestor")
    ap.add_argument("--hostname", help="the hostname claim sent (default: the attestor's)")
    ap.add_argument("--save")
    ap.add_argument("--load")
    ap.add_argument("--secrets", default="", help="names of the secrets a pass must deliver, comma-separated")
    ap.add_argument("--requote", action="store_true")
    ap.add_argument("--before", type=float, default=0.0)
    ap.add_argument("--after", type=float, default=0.0)
    ap.add_argument("--ak", choices=["garbage", "real"], default="real")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--code", default="PERMISSION_DENIED")
    ap.add_argument("--needle", default="")
    ap.add_argument("--expected", default="")
    ap.add_argument("--pcr", default="")
    ap.add_argument("--bank", default="sha256")
    ap.add_argument("command", choices=sorted(COMMANDS))
    a = ap.parse_args()
    a.want = [s for s in a.secrets.split(",") if s]
    r = Relay(a.stubs, a.verifier, a.tpm, a.pki)
    o = Relay(a.stubs, a.verifier, a.other_tpm, a.pki) if a.other_tpm else None
    if a.command in ("stolen-quote", "stolen-activate", "hog") and not o:
        die("%s needs --other-tpm" % a.command)
    print("ok %s: %s" % (a.command, COMMANDS[a.command](a, r, o)), flush=True)


if __name__ == "__main__":
    main()
