#!/usr/bin/python3
"""An independent gRPC client (Python grpcio) for the attestor's pull service.

    grpc_client.py --stubs DIR --target HOST:PORT --ca CA --cert CERT --key KEY CHECK

CHECK is one of:
  endorsement  GetEndorsement: at least one EK with a TPM2B_PUBLIC and a DER
               certificate whose public key matches; prints a summary line
  ak           GetAttestationKey: a well-formed TPM2B_PUBLIC (size prefix
               matches, type RSA or ECC, nameAlg known)
  refused      GetEndorsement must fail with UNAVAILABLE (TLS refused)
  malformed    a Quote request that is not a QuoteRequest must get INVALID_ARGUMENT
Exit 0 when the check holds, 1 otherwise, with the reason on stderr.
"""
import argparse
import struct
import subprocess
import sys

import grpc


def fail(msg):
    print("grpc_client: " + msg, file=sys.stderr)
    sys.exit(1)


def tpm2b_public(blob, what):
    """Parse the outer layer of a TPM2B_PUBLIC; returns (type, nameAlg)."""
    if len(blob) < 2 + 4:
        fail("%s: %d bytes is too short for a TPM2B_PUBLIC" % (what, len(blob)))
    (size,) = struct.unpack(">H", blob[:2])
    if size != len(blob) - 2:
        fail("%s: TPM2B size %d but %d bytes follow" % (what, size, len(blob) - 2))
    typ, name_alg = struct.unpack(">HH", blob[2:6])
    if typ not in (0x0001, 0x0023):
        fail("%s: type 0x%04x is neither RSA nor ECC" % (what, typ))
    if name_alg not in (0x000B, 0x000C, 0x000D):
        fail("%s: nameAlg 0x%04x" % (what, name_alg))
    return typ, name_alg


def cert_pubkey_der(cert_der):
    """The certificate's SubjectPublicKeyInfo via the openssl CLI (independent of our C code)."""
    pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-pubkey"],
                         input=cert_der, capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                          input=pem, capture_output=True, check=True).stdout


def rsa_modulus_from_tpm(blob):
    """Modulus of an RSA TPM2B_PUBLIC (TPMT_PUBLIC with TPMS_RSA_PARMS)."""
    off = 2 + 2 + 2 + 4  # size, type, nameAlg, objectAttributes
    (plen,) = struct.unpack(">H", blob[off:off + 2])
    off += 2 + plen  # authPolicy
    (sym,) = struct.unpack(">H", blob[off:off + 2])
    off += 2
    if sym != 0x0010:  # TPM_ALG_NULL
        off += 4  # keyBits, mode
    off += 2  # scheme
    (scheme_alg,) = struct.unpack(">H", blob[off - 2:off])
    if scheme_alg != 0x0010:
        off += 2
    off += 2 + 4  # keyBits, exponent
    (ulen,) = struct.unpack(">H", blob[off:off + 2])
    return blob[off + 2:off + 2 + ulen]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--server-name")
    ap.add_argument("check", choices=["endorsement", "ak", "refused", "malformed"])
    a = ap.parse_args()

    sys.path.insert(0, a.stubs)
    import attest_pb2  # noqa: E402  (generated at test time)
    import attest_pb2_grpc  # noqa: E402

    with open(a.ca, "rb") as f:
        ca = f.read()
    cert = key = None
    if a.cert:
        with open(a.cert, "rb") as f:
            cert = f.read()
        with open(a.key, "rb") as f:
            key = f.read()
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                         certificate_chain=cert)
    opts = []
    if a.server_name:
        opts.append(("grpc.ssl_target_name_override", a.server_name))
    with grpc.secure_channel(a.target, creds, options=opts) as ch:
        stub = attest_pb2_grpc.AttestorStub(ch)
        if a.check == "refused":
            try:
                stub.GetEndorsement(attest_pb2.Empty(), timeout=10)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    fail("refused: expected UNAVAILABLE, got %s: %s" % (e.code(), e.details()))
                print("refused: %s" % e.code().name)
                return
            fail("refused: the call succeeded")
        if a.check == "malformed":
            raw = ch.unary_unary("/attest.v1.Attestor/Quote",
                                 request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
            try:
                raw(b"\x0a\x10\x01", timeout=10)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    fail("malformed: expected INVALID_ARGUMENT, got %s: %s" % (e.code(), e.details()))
                print("malformed: %s: %s" % (e.code().name, e.details()))
                return
            fail("malformed: the call succeeded")
        if a.check == "endorsement":
            e = stub.GetEndorsement(attest_pb2.Empty(), timeout=30)
            if not e.eks:
                fail("endorsement: no EK")
            with_cert = 0
            for ek in e.eks:
                typ, _ = tpm2b_public(ek.public, "EK public")
                if typ != ek.alg:
                    fail("EK alg %d but public type 0x%04x" % (ek.alg, typ))
                if not ek.certificate:
                    continue
                with_cert += 1
                spki = cert_pubkey_der(ek.certificate)
                if typ == 0x0001:
                    n = rsa_modulus_from_tpm(ek.public)
                    if len(n) < 256 or n not in spki:
                        fail("RSA EK certificate key is not the EK public")
            if with_cert == 0:
                fail("endorsement: no EK has a certificate")
            print("endorsement: %d EKs, %d with certificate, platform cert %d bytes, hostname %r"
                  % (len(e.eks), with_cert, len(e.platform_certificate), e.hostname))
            return
        if a.check == "ak":
            k = stub.GetAttestationKey(attest_pb2.Empty(), timeout=60)
            typ, name_alg = tpm2b_public(k.public, "AK public")
            if k.parent_ek_alg not in (0x0001, 0x0023):
                fail("ak: parent_ek_alg %d" % k.parent_ek_alg)
            print("ak: type 0x%04x nameAlg 0x%04x, %d bytes, parent EK 0x%04x"
                  % (typ, name_alg, len(k.public), k.parent_ek_alg))
            return


if __name__ == "__main__":
    main()
