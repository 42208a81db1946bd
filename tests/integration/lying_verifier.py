#!/usr/bin/python3
"""A verifier that lies about why it failed (Python grpcio, no stubs needed):
it holds a valid certificate of the demo PKI, completes the TLS handshake,
and answers every call of attest.v1.Verifier with UNAVAILABLE and the words
of gRPC's own TLS refusals ("Peer name X is not in peer certificate", ...).
The attestor must take this for what it is, the server's answer, and retry:
were it taken for the attestor's own refusal, any holder of a fleet
certificate could stop attestors for good (test_tls_refusals.sh).

  lying_verifier.py --ca F --cert F --key F --message TEXT

Listens on 127.0.0.1, any free port, and prints "(port N" as our servers do.
"""
import argparse
import sys
import time
from concurrent import futures

import grpc

METHODS = ["Hello", "Activate", "SubmitQuote", "ConfirmSecrets"]


def main():
    ap = argparse.ArgumentParser()
    for a in ("--ca", "--cert", "--key", "--message"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    rd = lambda f: open(f, "rb").read()

    def lie(_req, context):
        context.abort(grpc.StatusCode.UNAVAILABLE, args.message)

    handlers = {m: grpc.unary_unary_rpc_method_handler(lie) for m in METHODS}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("attest.v1.Verifier", handlers),))
    creds = grpc.ssl_server_credentials([(rd(args.key), rd(args.cert))], rd(args.ca), True)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print("lying verifier listening on 127.0.0.1 (port %d)" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
