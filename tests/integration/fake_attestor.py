#!/usr/bin/python3
"""A fake pull attestor for attack tests (Python grpcio, independent of our
C code): it serves attest.v1.Attestor with a certificate of the demo PKI and
answers each method either from its upstream (a real attestor, called with
the verifier's certificate, so every piece of evidence is genuine) or as an
attacker would who has a node's public data but not its TPM.

  fake_attestor.py --stubs DIR --ca F --cert F --key F --control FILE --record DIR
                   [--upstream HOST:PORT --up-cert F --up-key F]

It listens on 127.0.0.1, any free port, and prints "fake attestor listening on
127.0.0.1 (port N)", then one line per call. CONTROL is JSON read at every call
(absent: {}), so a test changes what the fake does while a verifier keeps
calling it. Keys (each absent = "upstream"):
  endorsement  FILE: a serialized Endorsement (as recorded) instead of upstream's
  hostname     STR: the Endorsement's hostname claim replaced by STR
  ak           FILE: a serialized AttestationKey | "software": a P-256 key of
               its own in the TCG AK template (its private key in Python)
  activate     "forge": 32 random bytes instead of the credential's secret
  quote        "forge": a well-formed TPMS_ATTEST over the verifier's nonce and
               selection, with the PCR values, signer name and clock of the
               quote in RECORD/Quote.bin (a genuine one), signed by a key that
               is not the AK (the software AK's when ak = "software");
               FILE: a serialized QuoteResponse replayed as it is
  quote_cut_from  N: the Nth Quote call since the fake started and every later
               one UNAVAILABLE (count the "Quote:" lines printed so far)
  deliver      "wrong-proof": upstream's receipt with one bit of every proof
               flipped | "refuse": PERMISSION_DENIED with refuse_message |
               "unavailable": UNAVAILABLE, what a cut connection looks like
Every upstream answer is saved as RECORD/<Method>.bin (the serialized reply),
so that a later phase can replay what the genuine attestor said.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
from concurrent import futures

DIGEST = {0x0004: 20, 0x000B: 32, 0x000C: 48, 0x000D: 64}
TPM_GENERATED = 0xFF544347
ST_ATTEST_QUOTE = 0x8018
ALG_ECC, ALG_SHA256, ALG_NULL, ALG_ECDSA, ECC_P256 = 0x0023, 0x000B, 0x0010, 0x0018, 0x0003
# restricted | sign | fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth
AK_ATTRS = 0x00010000 | 0x00040000 | 0x2 | 0x10 | 0x20 | 0x40


def tpm2b(b):
    return struct.pack(">H", len(b)) + b


def split2b(buf, off):
    (n,) = struct.unpack_from(">H", buf, off)
    return buf[off + 2:off + 2 + n], off + 2 + n


def software_ak():
    """(private key, TPM2B_PUBLIC, name) of a P-256 key in the TCG AK template."""
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()
    area = struct.pack(">HHI", ALG_ECC, ALG_SHA256, AK_ATTRS) + tpm2b(b"")
    area += struct.pack(">HHHHH", ALG_NULL, ALG_ECDSA, ALG_SHA256, ECC_P256, ALG_NULL)
    area += tpm2b(nums.x.to_bytes(32, "big")) + tpm2b(nums.y.to_bytes(32, "big"))
    return key, tpm2b(area), struct.pack(">H", ALG_SHA256) + hashlib.sha256(area).digest()


def ecdsa_sig(key, msg):
    """TPMT_SIGNATURE (ECDSA, SHA-256) over msg."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
    return struct.pack(">HH", ALG_ECDSA, ALG_SHA256) + tpm2b(r.to_bytes(32, "big")) + tpm2b(s.to_bytes(32, "big"))


def forge_quote(pb, req, genuine, signer_name, key):
    """A QuoteResponse over req's nonce and selection that only lacks the AK's signature."""
    body, _ = split2b(genuine.attest, 0)
    off = 6
    name, off = split2b(body, off)
    _, off = split2b(body, off)  # the old nonce
    clock, reset, restart, safe, fw = struct.unpack_from(">QIIBQ", body, off)
    values = {(b.hash_alg, v.index): v.digest for b in genuine.pcr_values for v in b.values}
    sel = struct.pack(">I", len(req.pcrs))
    digest, banks = b"", []
    for ps in req.pcrs:
        bits = 0
        for i in ps.pcrs:
            bits |= 1 << i
        sel += struct.pack(">HB", ps.hash_alg, 3) + bits.to_bytes(3, "little")
        bank = pb.PcrBank(hash_alg=ps.hash_alg)
        for i in sorted(ps.pcrs):
            d = values.get((ps.hash_alg, i), bytes(DIGEST.get(ps.hash_alg, 32)))
            digest += d
            bank.values.append(pb.PcrValue(index=i, digest=d))
        banks.append(bank)
    attest = struct.pack(">IH", TPM_GENERATED, ST_ATTEST_QUOTE) + tpm2b(signer_name or name) + tpm2b(req.nonce)
    attest += struct.pack(">QIIBQ", clock + 1000, reset, restart, safe, fw)
    attest += sel + tpm2b(hashlib.sha256(digest).digest())
    return pb.QuoteResponse(attest=tpm2b(attest), signature=ecdsa_sig(key, attest), pcr_values=banks)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--stubs", "--ca", "--cert", "--key", "--control", "--record"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--upstream")
    ap.add_argument("--up-cert")
    ap.add_argument("--up-key")
    a = ap.parse_args()
    sys.path.insert(0, a.stubs)
    import grpc
    from cryptography.hazmat.primitives.asymmetric import ec
    import attest_pb2 as pb
    import attest_pb2_grpc as pbg

    rd = lambda f: open(f, "rb").read()
    up = None
    if a.upstream:
        up = pbg.AttestorStub(grpc.secure_channel(
            a.upstream, grpc.ssl_channel_credentials(rd(a.ca), rd(a.up_key), rd(a.up_cert))))
    soft_key, soft_pub, soft_name = software_ak()
    os.makedirs(a.record, exist_ok=True)

    def control():
        try:
            with open(a.control) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def upstream(method, req, context):
        if not up:
            context.abort(grpc.StatusCode.UNAVAILABLE, "fake attestor: no upstream")
        try:
            resp = getattr(up, method)(req, timeout=20)
        except grpc.RpcError as e:  # the real attestor's refusal, passed on as it is
            context.abort(e.code(), e.details() or "")
        with open(os.path.join(a.record, method + ".bin"), "wb") as f:
            f.write(resp.SerializeToString())
        return resp

    def replay(cls, path):
        m = cls()
        m.ParseFromString(rd(path))
        return m

    quotes = [0]  # Quote calls so far (quote_cut_from)

    def said(method, what):
        print("%s: %s" % (method, what), flush=True)

    class Fake(pbg.AttestorServicer):
        def GetEndorsement(self, req, context):
            c = control()
            src = c.get("endorsement", "upstream")
            resp = upstream("GetEndorsement", req, context) if src == "upstream" else replay(pb.Endorsement, src)
            if "hostname" in c:
                resp.hostname = c["hostname"]
            said("GetEndorsement", src)
            return resp

        def GetAttestationKey(self, req, context):
            src = control().get("ak", "upstream")
            said("GetAttestationKey", src)
            if src == "software":
                return pb.AttestationKey(public=soft_pub, parent_ek_alg=0x0001)
            if src == "upstream":
                return upstream("GetAttestationKey", req, context)
            return replay(pb.AttestationKey, src)

        def ActivateCredential(self, req, context):
            src = control().get("activate", "upstream")
            said("ActivateCredential", src)
            if src == "forge":
                return pb.CredentialResponse(secret=os.urandom(32))
            return upstream("ActivateCredential", req, context)

        def Quote(self, req, context):
            c = control()
            src = c.get("quote", "upstream")
            quotes[0] += 1
            if "quote_cut_from" in c and quotes[0] >= c["quote_cut_from"]:
                said("Quote", "unavailable")
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection cut")
            said("Quote", src)
            if src == "upstream":
                return upstream("Quote", req, context)
            if src != "forge":
                return replay(pb.QuoteResponse, src)
            genuine = replay(pb.QuoteResponse, os.path.join(a.record, "Quote.bin"))
            if c.get("ak") == "software":
                return forge_quote(pb, req, genuine, soft_name, soft_key)
            return forge_quote(pb, req, genuine, None, ec.generate_private_key(ec.SECP256R1()))

        def DeliverSecrets(self, req, context):
            c = control()
            src = c.get("deliver", "upstream")
            said("DeliverSecrets", src)
            if src == "refuse":
                context.abort(grpc.StatusCode.PERMISSION_DENIED, c.get("refuse_message", "refused"))
            if src == "unavailable":
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection cut")
            resp = upstream("DeliverSecrets", req, context)
            if src == "wrong-proof":
                for p in resp.proofs:
                    b = bytearray(p.proof)
                    b[len(b) // 2] ^= 1
                    p.proof = bytes(b)
            return resp

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pbg.add_AttestorServicer_to_server(Fake(), server)
    creds = grpc.ssl_server_credentials([(rd(a.key), rd(a.cert))], root_certificates=rd(a.ca),
                                        require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", creds)
    if not port:
        sys.exit("fake attestor: cannot listen")
    server.start()
    print("fake attestor listening on 127.0.0.1 (port %d)" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
