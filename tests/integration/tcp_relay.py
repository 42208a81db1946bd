#!/usr/bin/python3
"""A byte-for-byte TCP forwarder: what a rogue fleet member needs to relay
another node's attestor at its own pull target (test_pull_relay.sh).

  tcp_relay.py PORT UPSTREAM_HOST:PORT FLAG_FILE

The TLS session stays end to end between the verifier and UPSTREAM: the
relay can neither read nor change it, only choose where it goes. While
FLAG_FILE exists every connection is forwarded; once it is gone open ones
are cut and new ones closed at once. Prints "(port N" when listening, as
our servers do (log_port).
"""
import os
import select
import socket
import sys
import threading


def pump(a, b, flag):
    try:
        while os.path.exists(flag):
            ready, _, _ = select.select([a, b], [], [], 0.2)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def main():
    port, upstream, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    host, uport = upstream.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("relay to %s (port %d" % (upstream, ls.getsockname()[1]), flush=True)
    while True:
        c, _ = ls.accept()
        if not os.path.exists(flag):
            c.close()
            continue
        try:
            u = socket.create_connection((host, int(uport)), timeout=5)
            u.settimeout(None)
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u, flag), daemon=True).start()


if __name__ == "__main__":
    main()
