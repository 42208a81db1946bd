#!/usr/bin/python3
"""Secret delivery test helper, independent of our C code (Python grpcio and
the `cryptography` package). Used by tests/integration/test_attestor_secrets.sh.

  secrets_client.py mkseal EKPUB DATAFILE POLICYFILE OUTPREFIX
      A TPM2_Import blob of a sealed data object (KEYEDHASH, scheme NULL,
      authPolicy = POLICYFILE, no userWithAuth) holding DATAFILE, for the EK
      EKPUB (TPM2B_PUBLIC, RSA-2048 or ECC P-256): OUTPREFIX.pub (TPM2B_PUBLIC),
      .dup (TPM2B_PRIVATE), .seed (TPM2B_ENCRYPTED_SECRET), the layouts
      tpm2_import reads. Written from TPM 2.0 Part 1 (23.3 duplication,
      11.4.9 KDFa/KDFe, B.10.4 RSA-OAEP and C.6.4 ECDH seeds).
  secrets_client.py COMMON deliver OUTDIR REQ.json
      REQ.json: [{"name", "kind": "aes256"|"rsa"|N, "ek": "rsa"|"ecc", "sel":
      "sha256:0,1", "blob": PREFIX, "tamper": "pub|dup|seed:BIT" (optional),
      "challenge_len": N (optional)}]. Sends one DeliverSecrets with a random
      challenge per secret; writes OUTDIR/NAME.challenge and OUTDIR/NAME.proof,
      prints "delivered N ms" or "status=CODE details=..." (exit 1). First a
      Quote (random nonce) over --quote SEL (default sha256:0), as a verifier
      does: the attestor takes a delivery only after a Quote it answered to the
      same identity; --quote none sends the delivery alone.
COMMON: --stubs DIR --target HOST:PORT --ca F --cert F --key F [--quote SEL|none]
"""
import hashlib
import hmac
import json
import os
import struct
import sys
import time

ALG = {"sha1": 0x0004, "sha256": 0x000B, "sha384": 0x000C}
EK_ALG = {"rsa": 0x0001, "ecc": 0x0023}
KIND = {"aes256": 1, "rsa": 2}


def die(msg):
    print("secrets_client: " + msg, file=sys.stderr)
    sys.exit(2)


def u16(n):
    return struct.pack(">H", n)


def tpm2b(b):
    return u16(len(b)) + b


def untpm2b(buf, what):
    if len(buf) < 2 or struct.unpack(">H", buf[:2])[0] != len(buf) - 2:
        die(what + ": not exactly one TPM2B")
    return buf[2:]


def kdfa(key, label, ctx_u, ctx_v, bits):
    out = b""
    i = 1
    while len(out) * 8 < bits:
        out += hmac.new(key, struct.pack(">I", i) + label + b"\0" + ctx_u + ctx_v +
                        struct.pack(">I", bits), hashlib.sha256).digest()
        i += 1
    return out[:bits // 8]


def kdfe(z, label, party_u, party_v, bits):
    out = b""
    i = 1
    while len(out) * 8 < bits:
        out += hashlib.sha256(struct.pack(">I", i) + z + label + b"\0" + party_u + party_v).digest()
        i += 1
    return out[:bits // 8]


def ek_seed(ekpub, label):
    """(seed, TPM2B_ENCRYPTED_SECRET body) shared with the EK."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    area = untpm2b(ekpub, "EK public")
    typ, name_alg = struct.unpack(">HH", area[:4])
    if name_alg != ALG["sha256"]:
        die("EK nameAlg 0x%04x" % name_alg)
    if typ == EK_ALG["rsa"]:
        n = int.from_bytes(area[-256:], "big")
        if struct.unpack(">H", area[-258:-256])[0] != 256:
            die("EK is not RSA-2048")
        seed = os.urandom(32)
        enc = rsa.RSAPublicNumbers(65537, n).public_key().encrypt(
            seed, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                               label=label + b"\0"))
        return seed, enc
    if typ == EK_ALG["ecc"]:
        xb, yb = area[-66:-34], area[-32:]
        if area[-68:-66] != u16(32) or area[-34:-32] != u16(32):
            die("EK is not P-256")
        ekkey = ec.EllipticCurvePublicNumbers(int.from_bytes(xb, "big"), int.from_bytes(yb, "big"),
                                              ec.SECP256R1()).public_key()
        eph = ec.generate_private_key(ec.SECP256R1())
        z = eph.exchange(ec.ECDH(), ekkey)
        en = eph.public_key().public_numbers()
        ex, ey = en.x.to_bytes(32, "big"), en.y.to_bytes(32, "big")
        return kdfe(z, label, ex, xb, 256), tpm2b(ex) + tpm2b(ey)
    die("EK type 0x%04x" % typ)


def mkseal(ekpub_path, data_path, policy_path, prefix):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    ekpub = open(ekpub_path, "rb").read()
    data = open(data_path, "rb").read()
    policy = open(policy_path, "rb").read()
    if len(policy) != 32:
        die("policy digest of %d bytes" % len(policy))
    obj_seed = os.urandom(32)
    # TPMT_PUBLIC: KEYEDHASH, sha256, attributes 0 (no userWithAuth: policy
    # only; no sign/decrypt: sealed data), authPolicy, scheme NULL, unique.
    area = (u16(0x0008) + u16(ALG["sha256"]) + struct.pack(">I", 0) + tpm2b(policy) +
            u16(0x0010) + tpm2b(hashlib.sha256(obj_seed + data).digest()))
    name = u16(ALG["sha256"]) + hashlib.sha256(area).digest()
    sensitive = u16(0x0008) + tpm2b(b"") + tpm2b(obj_seed) + tpm2b(data)
    seed, enc_seed = ek_seed(ekpub, b"DUPLICATE")
    sym = kdfa(seed, b"STORAGE", name, b"", 128)   # the EK's symmetric: AES-128-CFB
    hkey = kdfa(seed, b"INTEGRITY", b"", b"", 256)
    enc = Cipher(algorithms.AES(sym), modes.CFB(b"\0" * 16)).encryptor()
    enc_sens = enc.update(tpm2b(sensitive)) + enc.finalize()
    outer = hmac.new(hkey, enc_sens + name, hashlib.sha256).digest()
    open(prefix + ".pub", "wb").write(tpm2b(area))
    open(prefix + ".dup", "wb").write(tpm2b(tpm2b(outer) + enc_sens))
    open(prefix + ".seed", "wb").write(tpm2b(enc_seed))
    print("name=" + name.hex())


def parse_sel(text):
    banks = []
    for part in text.split("+"):
        alg, pcrs = part.split(":")
        idx = []
        for p in pcrs.split(","):
            if "-" in p:
                a, b = p.split("-")
                idx.extend(range(int(a), int(b) + 1))
            else:
                idx.append(int(p))
        banks.append((ALG[alg] if alg in ALG else int(alg, 0), idx))
    return banks


def flip(buf, bit):
    b = bytearray(buf)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def deliver(a, outdir, req_path):
    sys.path.insert(0, a["stubs"])
    import grpc
    import attest_pb2 as pb
    import attest_pb2_grpc as pbg
    creds = grpc.ssl_channel_credentials(
        root_certificates=open(a["ca"], "rb").read(),
        private_key=open(a["key"], "rb").read(),
        certificate_chain=open(a["cert"], "rb").read())
    ch = grpc.secure_channel(a["target"], creds)
    grpc.channel_ready_future(ch).result(timeout=10)
    stub = pbg.AttestorStub(ch)
    secrets = []
    for s in json.load(open(req_path)):
        blob = {}
        for part in ("pub", "dup", "seed"):
            blob[part] = open(s["blob"] + "." + part, "rb").read() if s.get("blob") else b""
        if s.get("tamper"):
            part, bit = s["tamper"].split(":")
            blob[part] = flip(blob[part], int(bit))
        chal = os.urandom(s.get("challenge_len", 32))
        open(os.path.join(outdir, s["name"].replace("/", "_") + ".challenge"), "wb").write(chal)
        kind = KIND.get(s["kind"], s["kind"]) if isinstance(s["kind"], str) else s["kind"]
        secrets.append(pb.Secret(
            name=s["name"], kind=int(kind), ek_alg=EK_ALG.get(s.get("ek", "rsa"), 0),
            public=blob["pub"], duplicate=blob["dup"], encrypted_seed=blob["seed"],
            policy_pcrs=[pb.PcrSelection(hash_alg=h, pcrs=p) for h, p in parse_sel(s["sel"])],
            challenge=chal))
    quote = a.get("quote", "sha256:0")
    t0 = time.monotonic()
    try:
        if quote != "none":
            stub.Quote(pb.QuoteRequest(nonce=os.urandom(32), pcrs=[
                pb.PcrSelection(hash_alg=h, pcrs=p) for h, p in parse_sel(quote)]), timeout=20)
        resp = stub.DeliverSecrets(pb.SecretDelivery(secrets=secrets), timeout=20)
    except grpc.RpcError as e:
        print("status=%s details=%s" % (e.code().name, e.details()))
        sys.exit(1)
    ms = (time.monotonic() - t0) * 1e3
    if [p.name for p in resp.proofs] != [s.name for s in secrets]:
        die("proofs for %s, sent %s" % ([p.name for p in resp.proofs], [s.name for s in secrets]))
    for p in resp.proofs:
        open(os.path.join(outdir, p.name + ".proof"), "wb").write(p.proof)
    print("delivered %d %.1f ms" % (len(secrets), ms))


def main():
    args = sys.argv[1:]
    if args and args[0] == "mkseal":
        if len(args) != 5:
            die("mkseal EKPUB DATAFILE POLICYFILE OUTPREFIX")
        mkseal(*args[1:])
        return
    common = {}
    while args and args[0].startswith("--"):
        common[args[0][2:]] = args[1]
        args = args[2:]
    for k in ("stubs", "target", "ca", "cert", "key"):
        if k not in common:
            die("--%s missing" % k)
    if len(args) == 3 and args[0] == "deliver":
        deliver(common, args[1], args[2])
        return
    die("unknown command %r" % args)


if __name__ == "__main__":
    main()
