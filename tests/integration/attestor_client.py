#!/usr/bin/python3
"""Independent gRPC client (Python grpcio) for the attestor's pull service.

Used by tests/integration/test_attestor_tpm.sh. Stubs are generated at test
time into --stubs (protoc --python_out / --grpc_python_out). Writes TPM wire
structures to files in the layouts tpm2-tools reads, and prints one line per
call: "<method> <ms> ..." so the test can report costs.

  attestor_client.py COMMON endorsement OUTDIR
  attestor_client.py COMMON ak OUTDIR                 (ak.pub = TPM2B_PUBLIC, prints the name)
  attestor_client.py COMMON quote OUTDIR NONCEHEX SEL (SEL like sha256:0,1,2,3+sha1:0)
  attestor_client.py COMMON quotes N SEL              (N quotes with random nonces)
  attestor_client.py COMMON activate EKALG NAMEHEX MKCRED_FILE   (prints the secret hex)
  attestor_client.py COMMON expect-error CODE METHOD JSONISH      (asserts the status)
  attestor_client.py COMMON expect-status CODE TEXT METHOD... (each METHOD with a plausible
                     request, REPEAT times: the status is CODE, its message contains TEXT)
  attestor_client.py COMMON quote-only SEL                     (one Quote, random nonce)
COMMON: --stubs DIR --target HOST:PORT (--insecure | --ca F --cert F --key F)
"""
import argparse
import hashlib
import os
import struct
import sys
import time

ALG = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C, "sha512": 0x000D}
EK_ALG = {"rsa": 0x0001, "ecc": 0x0023}


def die(msg):
    print("client: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_sel(text):
    banks = []
    for part in text.split("+"):
        name, pcrs = part.split(":")
        idx = []
        for p in pcrs.split(","):
            if "-" in p:
                a, b = p.split("-")
                idx.extend(range(int(a), int(b) + 1))
            else:
                idx.append(int(p))
        banks.append((ALG[name] if name in ALG else int(name, 0), idx))
    return banks


def tpm2b(buf, what):
    """Split a TPM2B: (body, rest). Strict on the size."""
    if len(buf) < 2:
        die(what + ": truncated TPM2B")
    n = struct.unpack(">H", buf[:2])[0]
    if len(buf) < 2 + n:
        die(what + ": TPM2B size %d exceeds %d bytes" % (n, len(buf) - 2))
    return buf[2:2 + n], buf[2 + n:]


def ak_name(pub2b):
    """TPM2B_PUBLIC -> Name (nameAlg || H(TPMT_PUBLIC)), computed here, not by the attestor."""
    area, rest = tpm2b(pub2b, "AK public")
    if rest:
        die("AK public: trailing bytes")
    name_alg = struct.unpack(">H", area[2:4])[0]
    if name_alg != ALG["sha256"]:
        die("AK nameAlg 0x%04x" % name_alg)
    return area[2:4] + hashlib.sha256(area).digest()


def rsa_modulus(pub2b):
    """Modulus of an RSA TPM2B_PUBLIC: unique is the last field (TPM2B)."""
    area, _ = tpm2b(pub2b, "EK public")
    n = struct.unpack(">H", area[-258:-256])[0]
    if n != 256:
        die("EK modulus size %d" % n)
    return area[-256:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    sys.path.insert(0, a.stubs)
    import grpc
    import attest_pb2 as pb
    import attest_pb2_grpc as pbg

    if a.insecure:
        ch = grpc.insecure_channel(a.target)
    else:
        creds = grpc.ssl_channel_credentials(
            root_certificates=open(a.ca, "rb").read(),
            private_key=open(a.key, "rb").read(),
            certificate_chain=open(a.cert, "rb").read())
        ch = grpc.secure_channel(a.target, creds)
    stub = pbg.AttestorStub(ch)

    def call(method, req):
        t0 = time.monotonic()
        resp = getattr(stub, method)(req, timeout=10)
        return resp, (time.monotonic() - t0) * 1e3

    def quote_req(nonce, sel):
        return pb.QuoteRequest(nonce=nonce, pcrs=[pb.PcrSelection(hash_alg=h, pcrs=p) for h, p in sel])

    # Connection setup (TLS handshake) is not the handler's cost: warm up.
    grpc.channel_ready_future(ch).result(timeout=10)

    if a.cmd == "endorsement":
        out = a.args[0]
        resp, ms = call("GetEndorsement", pb.Empty())
        algs = []
        for ek in resp.eks:
            name = {0x0001: "rsa", 0x0023: "ecc"}.get(ek.alg) or die("EK alg 0x%x" % ek.alg)
            open(os.path.join(out, "ek_%s.pub" % name), "wb").write(ek.public)
            if ek.certificate:
                open(os.path.join(out, "ek_%s.der" % name), "wb").write(ek.certificate)
            if name == "rsa":
                open(os.path.join(out, "ek_rsa.modulus"), "w").write(rsa_modulus(ek.public).hex().upper())
            algs.append("%s(cert %d bytes)" % (name, len(ek.certificate)))
        if resp.platform_certificate:
            open(os.path.join(out, "platform.der"), "wb").write(resp.platform_certificate)
        print("GetEndorsement %.2f ms eks=%s platform=%d host=%s" % (
            ms, ",".join(algs), len(resp.platform_certificate), resp.hostname))
    elif a.cmd == "ak":
        out = a.args[0]
        resp, ms = call("GetAttestationKey", pb.Empty())
        open(os.path.join(out, "ak.pub"), "wb").write(resp.public)
        name = ak_name(resp.public)
        open(os.path.join(out, "ak.name"), "w").write(name.hex())
        print("GetAttestationKey %.2f ms parent=0x%04x name=%s" % (ms, resp.parent_ek_alg, name.hex()))
    elif a.cmd == "quote":
        out, nonce, sel = a.args[0], bytes.fromhex(a.args[1]), parse_sel(a.args[2])
        resp, ms = call("Quote", quote_req(nonce, sel))
        body, rest = tpm2b(resp.attest, "attest")
        if rest:
            die("attest: trailing bytes")
        open(os.path.join(out, "quote.msg"), "wb").write(body)      # TPMS_ATTEST
        open(os.path.join(out, "quote.sig"), "wb").write(resp.signature)  # TPMT_SIGNATURE
        # tpm2_checkquote -f with -l: values concatenated in selection order.
        vals = b""
        if len(resp.pcr_values) != len(sel):
            die("%d banks returned for %d requested" % (len(resp.pcr_values), len(sel)))
        for (h, idx), bank in zip(sel, resp.pcr_values):
            got = [v.index for v in bank.values]
            if bank.hash_alg != h or got != sorted(idx):
                die("bank 0x%x: returned PCRs %s for %s" % (bank.hash_alg, got, sorted(idx)))
            for v in bank.values:
                vals += v.digest
        open(os.path.join(out, "pcrs.bin"), "wb").write(vals)
        print("Quote %.2f ms attest=%d sig=%d" % (ms, len(resp.attest), len(resp.signature)))
    elif a.cmd == "quotes":
        n, sel = int(a.args[0]), parse_sel(a.args[1])
        times = []
        for _ in range(n):
            _, ms = call("Quote", quote_req(os.urandom(32), sel))
            times.append(ms)
        times.sort()
        print("Quote x%d median %.2f ms min %.2f max %.2f" % (n, times[n // 2], times[0], times[-1]))
    elif a.cmd == "costs":
        # costs N: median per-call latency of the read-only methods
        n = int(a.args[0])
        for method, req in (("GetEndorsement", pb.Empty()), ("GetAttestationKey", pb.Empty())):
            times = sorted(call(method, req)[1] for _ in range(n))
            print("%s x%d median %.2f ms min %.2f max %.2f" % (method, n, times[n // 2], times[0], times[-1]))
    elif a.cmd == "activate":
        ek_alg, name, blob = EK_ALG[a.args[0]], bytes.fromhex(a.args[1]), open(a.args[2], "rb").read()
        # tpm2_makecredential output: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET
        magic, version = struct.unpack(">II", blob[:8])
        if magic != 0xBADCC0DE or version != 1:
            die("not a tpm2_makecredential file (magic %08x version %d)" % (magic, version))
        rest = blob[8:]
        idobj, rest = tpm2b(rest, "credential blob")
        seed, rest = tpm2b(rest, "encrypted secret")
        if rest:
            die("makecredential file: trailing bytes")
        req = pb.CredentialChallenge(
            ek_alg=ek_alg, ak_name=struct.pack(">H", len(name)) + name,
            credential_blob=struct.pack(">H", len(idobj)) + idobj,
            encrypted_secret=struct.pack(">H", len(seed)) + seed)
        if os.environ.get("TAMPER") == "blob":
            b = bytearray(req.credential_blob)
            b[len(b) // 2] ^= 1
            req.credential_blob = bytes(b)
        elif os.environ.get("TAMPER") == "trailing":
            req.encrypted_secret += b"\x00"
        times = []
        for _ in range(int(os.environ.get("REPEAT", "1"))):
            try:
                resp, ms = call("ActivateCredential", req)
            except grpc.RpcError as e:
                print("ActivateCredential status=%s details=%s" % (e.code().name, e.details()))
                sys.exit(3)
            times.append(ms)
        times.sort()
        print("ActivateCredential x%d median %.2f ms min %.2f max %.2f" % (
            len(times), times[len(times) // 2], times[0], times[-1]))
        print("secret=" + resp.secret.hex())
    elif a.cmd == "expect-status":
        want, text, methods = a.args[0], a.args[1], a.args[2:]
        reqs = {
            "GetEndorsement": pb.Empty(),
            "GetAttestationKey": pb.Empty(),
            "ActivateCredential": pb.CredentialChallenge(
                ek_alg=EK_ALG["rsa"], ak_name=b"\x00\x22\x00\x0b" + os.urandom(32),
                credential_blob=b"\x00\x20" + os.urandom(32), encrypted_secret=b"\x01\x00" + os.urandom(256)),
            "Quote": quote_req(os.urandom(32), parse_sel("sha256:0-7")),
            "DeliverSecrets": pb.SecretDelivery(),
        }
        for rep in range(int(os.environ.get("REPEAT", "1"))):
            for method in methods:
                if method not in reqs:
                    die("expect-status: unknown method " + method)
                try:
                    call(method, reqs[method])
                    die("%s succeeded, want %s" % (method, want))
                except grpc.RpcError as e:
                    if e.code().name != want or text not in (e.details() or ""):
                        die("%s: status %s (%s), want %s with '%s'" % (
                            method, e.code().name, e.details(), want, text))
                    if rep == 0:
                        print("%s -> %s: %s" % (method, e.code().name, e.details()))
    elif a.cmd == "quote-only":
        call("Quote", quote_req(os.urandom(32), parse_sel(a.args[0])))
        print("Quote answered")
    elif a.cmd == "expect-error":
        # expect-error CODE quote NONCE_LEN SEL | expect-error CODE deliver
        want, what = a.args[0], a.args[1]
        try:
            if what == "quote":
                call("Quote", quote_req(os.urandom(int(a.args[2])), parse_sel(a.args[3])))
            elif what == "deliver":
                call("DeliverSecrets", pb.SecretDelivery())
            else:
                die("unknown expect-error call " + what)
        except grpc.RpcError as e:
            if e.code().name != want:
                die("%s: status %s (%s), want %s" % (what, e.code().name, e.details(), want))
            if not e.details():
                die("%s: status %s without a message" % (what, want))
            print("%s -> %s: %s" % (what, e.code().name, e.details()))
            return
        die("%s succeeded, want %s" % (what, want))
    else:
        die("unknown command " + a.cmd)


if __name__ == "__main__":
    main()
