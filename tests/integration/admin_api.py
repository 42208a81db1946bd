#!/usr/bin/python3
"""The verifier's Admin service from Python grpcio (test_admin_api.sh).

    admin_api.py STUBS SERVER PKI PHASE [ARGS...]

Every call goes over mutual TLS with the PKI's certificates; each PHASE
checks what it says and prints PASS lines, or exits 1 with FAIL. The
shell runs the attestations between phases.
"""
import json
import os
import struct
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402

import admin_pb2 as pb  # noqa: E402
import admin_pb2_grpc  # noqa: E402

SERVER, PKI, PHASE, ARGS = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("PASS: " + msg)


def read(name):
    with open(os.path.join(PKI, name), "rb") as f:
        return f.read()


def stub(who="operator", ca="ca.pem"):
    if who is None:
        creds = grpc.ssl_channel_credentials(root_certificates=read(ca))
    else:
        creds = grpc.ssl_channel_credentials(root_certificates=read(ca), private_key=read(who + ".key"),
                                             certificate_chain=read(who + ".pem"))
    # The verifier's certificate names it "verifier" (and localhost, 127.0.0.1).
    ch = grpc.secure_channel(SERVER, creds, options=[("grpc.ssl_target_name_override", "verifier")])
    return admin_pb2_grpc.AdminStub(ch)


def refused(call, want, what):
    try:
        call()
    except grpc.RpcError as e:
        if e.code() != want:
            fail("%s: %s (%s), want %s" % (what, e.code().name, e.details(), want.name))
        return e.details() or ""
    fail("%s: answered, want %s" % (what, want.name))


def all_nodes(s, **kw):
    token, out, pages = "", [], 0
    while True:
        page = s.ListNodes(pb.ListNodesRequest(page_token=token, **kw), timeout=30)
        out.extend(page.nodes)
        pages += 1
        token = page.next_page_token
        if not token:
            return out, pages


# One request of each method, for the refusals: what an attacker with a
# valid fleet certificate would send to change the fleet.
def every_call(s):
    return [
        ("ListNodes", lambda: s.ListNodes(pb.ListNodesRequest(), timeout=10)),
        ("GetNode", lambda: s.GetNode(pb.NodeRef(key=ARGS[0][:16]), timeout=10)),
        ("EnrollNode", lambda: s.EnrollNode(pb.EnrollNodeRequest(key="ab" * 32, set_name=True, name="rogue"),
                                            timeout=10)),
        ("EnrollNode re-bind", lambda: s.EnrollNode(pb.EnrollNodeRequest(key=ARGS[0][:16], set_identity=True,
                                                                         identity="attestor2"), timeout=10)),
        ("RemoveNode", lambda: s.RemoveNode(pb.NodeRef(key=ARGS[0][:16]), timeout=10)),
        ("GetHistory", lambda: s.GetHistory(pb.HistoryRequest(key=ARGS[0][:16]), timeout=10)),
        ("Reattest", lambda: s.Reattest(pb.NodeRef(key=ARGS[0][:16]), timeout=10)),
        ("GetFleet", lambda: s.GetFleet(pb.AdminEmpty(), timeout=10)),
        ("ListRejected", lambda: s.ListRejected(pb.AdminEmpty(), timeout=10)),
        ("ClearRejected", lambda: s.ClearRejected(pb.AdminEmpty(), timeout=10)),
        ("PutPolicy", lambda: s.PutPolicy(pb.PutPolicyRequest(name="rogue", body='{"pcrs": {}}', create=True),
                                          timeout=10)),
        ("GetPolicy", lambda: s.GetPolicy(pb.PolicyRef(name="web"), timeout=10)),
        ("ListPolicies", lambda: s.ListPolicies(pb.AdminEmpty(), timeout=10)),
        ("DeletePolicy", lambda: s.DeletePolicy(pb.PolicyRef(name="web"), timeout=10)),
        ("AssignPolicy", lambda: s.AssignPolicy(pb.AssignPolicyRequest(name="", node=ARGS[0][:16]), timeout=10)),
        ("TestPolicy", lambda: s.TestPolicy(pb.TestPolicyRequest(body='{"pcrs": {}}'), timeout=10)),
        ("LearnPolicy", lambda: s.LearnPolicy(pb.NodeRef(key=ARGS[0][:16]), timeout=10)),
        ("GetProposal", lambda: s.GetProposal(pb.NodeRef(key=ARGS[0][:16]), timeout=10)),
        ("ApprovePolicy", lambda: s.ApprovePolicy(pb.ApproveRequest(node=ARGS[0][:16]), timeout=10)),
        ("ListGroupRules", lambda: s.ListGroupRules(pb.AdminEmpty(), timeout=10)),
        ("AddGroupRule", lambda: s.AddGroupRule(pb.GroupRule(group="rogue", match=[
            pb.Fact(name="tpm_manufacturer", value="*")]), timeout=10)),
        ("RemoveGroupRule", lambda: s.RemoveGroupRule(pb.GroupRuleRef(id=1), timeout=10)),
        ("WatchEvents", lambda: list(s.WatchEvents(pb.WatchRequest(), timeout=10))),
    ]


def extra_data(quote):
    """TPMS_ATTEST's extraData (the nonce), parsed here independently:
    TPM2B_ATTEST size, magic, type, qualifiedSigner (TPM2B_NAME), extraData."""
    (size,) = struct.unpack(">H", quote[:2])
    body = quote[2:2 + size]
    magic, typ = struct.unpack(">IH", body[:6])
    if magic != 0xFF544347 or typ != 0x8018:
        fail("the history's quote is no TPM quote: magic %08x type %04x" % (magic, typ))
    (n,) = struct.unpack(">H", body[6:8])
    off = 8 + n
    (n,) = struct.unpack(">H", body[off:off + 2])
    return body[off + 2:off + 2 + n]


def phase_refusals():
    """ARGS: NODE_A. Every method with another identity's certificate."""
    before = len(all_nodes(stub())[0])
    for who, want in (("attestor", grpc.StatusCode.PERMISSION_DENIED), ("attestor2", grpc.StatusCode.PERMISSION_DENIED),
                      ("verifier", grpc.StatusCode.PERMISSION_DENIED)):
        s = stub(who)
        for name, call in every_call(s):
            d = refused(call, want, "%s as %s" % (name, who))
            if "not an operator" not in d:
                fail("%s as %s: the refusal says %r" % (name, who, d))
        ok("all %d methods refused with %s's certificate: PERMISSION_DENIED" % (len(every_call(s)), who))
    # No client certificate, or one of another CA: the handshake fails.
    for who, ca, what in ((None, "ca.pem", "no client certificate"), ("rogue", "ca.pem", "a certificate of another CA")):
        s = stub(who, ca)
        for name, call in every_call(s):
            refused(call, grpc.StatusCode.UNAVAILABLE, "%s with %s" % (name, what))
        ok("all methods refused with %s (UNAVAILABLE: no TLS session)" % what)
    after = all_nodes(stub())[0]
    if len(after) != before:
        fail("the refused calls changed the nodes: %d -> %d" % (before, len(after)))
    for n in after:
        if n.name == "rogue" or n.identity == "attestor2":
            fail("a refused call changed node %s: name %r identity %r" % (n.ek_hash, n.name, n.identity))
    if any(p.name == "rogue" for p in stub().ListPolicies(pb.AdminEmpty(), timeout=10).policies):
        fail("a refused PutPolicy stored a policy")
    ok("nothing changed by the refused calls (%d nodes, names, identities, policies as before)" % len(after))


def phase_nodes():
    """ARGS: NODE_A (passing) NODE_B (failing). The node methods."""
    a, b = ARGS[0], ARGS[1]
    s = stub()
    nodes, _ = all_nodes(s)
    by = {n.ek_hash: n for n in nodes}
    if by.get(a) is None or by[a].state != "passing" or by.get(b) is None or by[b].state != "failed":
        fail("ListNodes: %s" % [(n.ek_hash[:16], n.state) for n in nodes])
    failed, _ = all_nodes(s, state="failed")
    if [n.ek_hash for n in failed] != [b]:
        fail("ListNodes state=failed: %s" % [n.ek_hash[:16] for n in failed])
    ok("ListNodes: %s passing, %s failed; state=failed lists only the failing one" % (a[:16], b[:16]))
    refused(lambda: s.ListNodes(pb.ListNodesRequest(state="bogus"), timeout=10), grpc.StatusCode.INVALID_ARGUMENT,
            "ListNodes state=bogus")
    refused(lambda: s.ListNodes(pb.ListNodesRequest(page_token="x1"), timeout=10), grpc.StatusCode.INVALID_ARGUMENT,
            "ListNodes with a forged page token")
    ok("ListNodes: a bad state filter and a forged page token are INVALID_ARGUMENT")

    st = s.GetNode(pb.NodeRef(key=a[:12]), timeout=10)
    if st.node.ek_hash != a or not st.last_pass_ms or st.last_fail_ms or not st.quoted or not st.reference.values:
        fail("GetNode %s: %s" % (a[:16], st))
    for v in st.reference.values:
        q = {x.key: x.value for x in st.quoted}
        if q.get(v.key) != v.value:
            fail("GetNode: the reference's %s is %s, the quote's %s" % (v.key, v.value, q.get(v.key)))
    st = s.GetNode(pb.NodeRef(key=b[:12]), timeout=10)
    if st.node.state != "failed" or "PCR 7" not in st.node.reason:
        fail("GetNode %s: state %s reason %r" % (b[:16], st.node.state, st.node.reason))
    ok("GetNode: the passing node's reference matches its quote; the failing one says why: %s" % st.node.reason[:80])
    refused(lambda: s.GetNode(pb.NodeRef(key="00000000deadbeef"), timeout=10), grpc.StatusCode.NOT_FOUND,
            "GetNode of no node")

    h = s.GetHistory(pb.HistoryRequest(key=a[:16]), timeout=10)
    if h.ek_hash != a or len(h.verdicts) != 1 or not getattr(h.verdicts[0], "pass") or not h.verdicts[0].verified:
        fail("GetHistory %s: %s" % (a[:16], h))
    v = h.verdicts[0]
    if extra_data(v.quote) != v.nonce or len(v.nonce) < 16 or not v.signature or len(v.ak_digest) != 64:
        fail("GetHistory: the quote's extraData is not the verdict's nonce, or evidence is missing")
    ok("GetHistory: one verified pass; its quote's extraData (parsed here) is its nonce; AK %s..." % v.ak_digest[:16])

    d = refused(lambda: s.Reattest(pb.NodeRef(key=a[:16]), timeout=10), grpc.StatusCode.FAILED_PRECONDITION,
                "Reattest in push mode")
    ok("Reattest in push mode: FAILED_PRECONDITION: %s" % d[:70])

    f = s.GetFleet(pb.AdminEmpty(), timeout=10)
    if f.mode != "push" or f.verdicts_pass != 1 or f.verdicts_fail != 1:
        fail("GetFleet: %s" % f)
    ok("GetFleet: push, 1 pass and 1 failure recorded")

    spare = "5a" * 32
    r = s.EnrollNode(pb.EnrollNodeRequest(key=spare, set_name=True, name="spare", set_groups=True,
                                          groups=["lab"]), timeout=10)
    if not r.created or r.node.ek_hash != spare or r.node.state != "enrolled" or list(r.node.groups) != ["lab"]:
        fail("EnrollNode of a new EK hash: %s" % r)
    r = s.EnrollNode(pb.EnrollNodeRequest(key=a[:16], set_name=True, name="web1", set_groups=True,
                                          groups=["web"]), timeout=10)
    if r.created or r.node.name != "web1" or list(r.node.groups) != ["web"]:
        fail("EnrollNode of a node the store has: %s" % r)
    refused(lambda: s.EnrollNode(pb.EnrollNodeRequest(key="web1"), timeout=10), grpc.StatusCode.FAILED_PRECONDITION,
            "EnrollNode with nothing to change")
    refused(lambda: s.EnrollNode(pb.EnrollNodeRequest(key="not-a-node"), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "EnrollNode of neither an EK hash nor a node")
    refused(lambda: s.EnrollNode(pb.EnrollNodeRequest(ek_public=b"\x00\x10garbage"), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "EnrollNode of a malformed EK public")
    refused(lambda: s.EnrollNode(pb.EnrollNodeRequest(key=spare, set_name=True, name="web1"), timeout=10),
            grpc.StatusCode.FAILED_PRECONDITION, "EnrollNode with another node's name")
    for bad, what in ((pb.EnrollNodeRequest(key=spare, set_groups=True, groups=["a,b"]), "a group with a comma"),
                      (pb.EnrollNodeRequest(key=spare, set_name=True, name="deadbeef12"), "a name of hex digits"),
                      (pb.EnrollNodeRequest(key=spare, set_name=True, name="x y"), "a name with a space"),
                      (pb.EnrollNodeRequest(key=spare, set_identity=True, identity='a"b'), "an identity with a quote")):
        refused(lambda: s.EnrollNode(bad, timeout=10), grpc.StatusCode.INVALID_ARGUMENT, "EnrollNode with " + what)
    if s.GetNode(pb.NodeRef(key=spare[:16]), timeout=10).node.name != "spare":
        fail("a refused EnrollNode changed the spare node")
    ok("EnrollNode: a new node by EK hash, a name and groups for an existing one; malformed ones refused, "
       "nothing changed")

    rej = s.ListRejected(pb.AdminEmpty(), timeout=10)
    claims = [r for r in rej.rejected if r.claim_ek == a and r.identity == "attestor2"]
    if len(claims) != 1 or not claims[0].claim_reason:
        fail("ListRejected: no claim of attestor2 on %s: %s" % (a[:16], rej))
    st = s.GetNode(pb.NodeRef(key=a[:16]), timeout=10)
    if [(c.identity, c.claim_ek) for c in st.claims] != [("attestor2", a)]:
        fail("GetNode: the claims on %s: %s" % (a[:16], st.claims))
    ok("ListRejected and GetNode show attestor2's claim on %s: %s: %s" % (a[:16], claims[0].claim_step,
                                                                          claims[0].claim_reason[:60]))
    c = s.ClearRejected(pb.AdminEmpty(), timeout=10)
    if not c.cleared or c.cleared != len(rej.rejected) or s.ListRejected(pb.AdminEmpty(), timeout=10).rejected:
        fail("ClearRejected: cleared %d of %d" % (c.cleared, len(rej.rejected)))
    ok("ListRejected, ClearRejected: %d identities cleared" % c.cleared)


def phase_policies():
    """ARGS: NODE_A NODE_B POLICY.json (NODE_A's PCRs). Policies and group rules."""
    a, b, body = ARGS[0], ARGS[1], open(ARGS[2]).read()
    s = stub()
    p = s.PutPolicy(pb.PutPolicyRequest(name="web", body=body, create=True), timeout=10)
    if p.name != "web" or p.version != 1 or not p.created_ms:
        fail("PutPolicy create: %s" % p)
    refused(lambda: s.PutPolicy(pb.PutPolicyRequest(name="web", body=body, create=True), timeout=10),
            grpc.StatusCode.FAILED_PRECONDITION, "PutPolicy create of an existing name")
    d = refused(lambda: s.PutPolicy(pb.PutPolicyRequest(name="web", body='{"pcrs": {"sha256.23": "00"}}'),
                                    timeout=10), grpc.StatusCode.INVALID_ARGUMENT, "PutPolicy of a bad document")
    refused(lambda: s.PutPolicy(pb.PutPolicyRequest(name="../x", body=body, create=True), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "PutPolicy with a bad name")
    p = s.PutPolicy(pb.PutPolicyRequest(name="web", body=body), timeout=10)
    if p.version != 2:
        fail("PutPolicy update: version %d" % p.version)
    g = s.GetPolicy(pb.PolicyRef(name="web", version=1), timeout=10)
    if g.version != 1 or json.loads(g.body) != json.loads(body):
        fail("GetPolicy version 1: %s" % g)
    ok("PutPolicy: version 1, a duplicate create and bad documents refused (%s), version 2; GetPolicy" % d[:60])

    s.AssignPolicy(pb.AssignPolicyRequest(name="web", group="web"), timeout=10)
    l = s.ListPolicies(pb.AdminEmpty(), timeout=10)
    if [(x.name, x.version, x.groups) for x in l.policies] != [("web", 2, 1)]:
        fail("ListPolicies: %s" % l)
    st = s.GetNode(pb.NodeRef(key=a[:16]), timeout=10)
    if st.reference.name != "web" or st.reference.version != 2 or st.reference.via != "group web":
        fail("GetNode after AssignPolicy: %s" % st.reference)
    refused(lambda: s.DeletePolicy(pb.PolicyRef(name="web"), timeout=10), grpc.StatusCode.FAILED_PRECONDITION,
            "DeletePolicy of an assigned policy")
    refused(lambda: s.AssignPolicy(pb.AssignPolicyRequest(name="web", node=a[:16], group="web"), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "AssignPolicy to a node and a group")
    refused(lambda: s.AssignPolicy(pb.AssignPolicyRequest(name="nope", node=a[:16]), timeout=10),
            grpc.StatusCode.NOT_FOUND, "AssignPolicy of no policy")
    ok("AssignPolicy to group web judges %s by web version 2; an assigned policy is not deleted" % a[:16])

    t = s.TestPolicy(pb.TestPolicyRequest(body=body), timeout=30)
    res = {x.node.ek_hash: x for x in t.results}
    if res[a].result != "PASS" or res[b].result != "FAIL" or "PCR 7" not in res[b].reason:
        fail("TestPolicy: %s" % [(x.node.ek_hash[:16], x.result, x.reason[:60]) for x in t.results])
    if res["5a" * 32].result != "NONE":
        fail("TestPolicy of a node without evidence: %s" % res["5a" * 32])
    refused(lambda: s.TestPolicy(pb.TestPolicyRequest(body="{"), timeout=10), grpc.StatusCode.INVALID_ARGUMENT,
            "TestPolicy of a bad candidate")
    refused(lambda: s.TestPolicy(pb.TestPolicyRequest(body=body, nodes=["a"] * 1001), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "TestPolicy naming 1001 nodes")
    ok("TestPolicy: %s PASS, %s FAIL (%s), the enrolled one NONE" % (a[:16], b[:16], res[b].reason[:50]))

    s.AssignPolicy(pb.AssignPolicyRequest(name="", group="web"), timeout=10)
    s.DeletePolicy(pb.PolicyRef(name="web"), timeout=10)
    if s.ListPolicies(pb.AdminEmpty(), timeout=10).policies:
        fail("DeletePolicy: still listed")
    ok("AssignPolicy '' unassigns; DeletePolicy")

    r = s.AddGroupRule(pb.GroupRule(group="swtpm", match=[pb.Fact(name="ek_issuer", value="*")]), timeout=10)
    rules = s.ListGroupRules(pb.AdminEmpty(), timeout=10).rules
    if len(rules) != 1 or rules[0].id != r.id or rules[0].nodes != 2:
        fail("ListGroupRules: %s" % rules)
    refused(lambda: s.AddGroupRule(pb.GroupRule(group="x", match=[pb.Fact(name="colour", value="*")]), timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, "AddGroupRule of no fact")
    refused(lambda: s.AddGroupRule(pb.GroupRule(group="x"), timeout=10), grpc.StatusCode.INVALID_ARGUMENT,
            "AddGroupRule without a condition")
    s.RemoveGroupRule(pb.GroupRuleRef(id=r.id), timeout=10)
    refused(lambda: s.RemoveGroupRule(pb.GroupRuleRef(id=r.id), timeout=10), grpc.StatusCode.NOT_FOUND,
            "RemoveGroupRule twice")
    ok("AddGroupRule puts both swtpm nodes in a group (ek_issuer=*), ListGroupRules, RemoveGroupRule")

    s.LearnPolicy(pb.NodeRef(key=b[:16]), timeout=10)
    lp = s.GetProposal(pb.NodeRef(key=b[:16]), timeout=10)
    if not lp.requested_ms or lp.answered_by or lp.proposal:
        fail("GetProposal before a quote: %s" % lp)
    d = refused(lambda: s.ApprovePolicy(pb.ApproveRequest(node=b[:16]), timeout=10),
                grpc.StatusCode.FAILED_PRECONDITION, "ApprovePolicy before a quote")
    ok("LearnPolicy of %s; GetProposal has no answer yet; ApprovePolicy refused: %s" % (b[:16], d[:50]))


def phase_learned():
    """ARGS: NODE_B. After its next quote: the proposal, and approving it."""
    b = ARGS[0]
    s = stub()
    lp = s.GetProposal(pb.NodeRef(key=b[:16]), timeout=10)
    if not lp.answered_by or "pcrs" not in json.loads(lp.proposal):
        fail("GetProposal after a quote: %s" % lp)
    ap = s.ApprovePolicy(pb.ApproveRequest(node=b[:16], name="learned-b"), timeout=10)
    if ap.name != "learned-b" or ap.version != 1 or ap.attestation != lp.answered_by:
        fail("ApprovePolicy: %s" % ap)
    st = s.GetNode(pb.NodeRef(key=b[:16]), timeout=10)
    if st.reference.name != "learned-b" or st.reference.via != "node":
        fail("GetNode after ApprovePolicy: %s" % st.reference)
    ok("GetProposal answered by attestation %d; ApprovePolicy assigns learned-b to %s" % (ap.attestation, b[:16]))


def phase_passing():
    """ARGS: NODE_B. It passes by the learned policy; RemoveNode of the spare."""
    b = ARGS[0]
    s = stub()
    if s.GetNode(pb.NodeRef(key=b[:16]), timeout=10).node.state != "passing":
        fail("%s does not pass by its learned policy" % b[:16])
    n = s.RemoveNode(pb.NodeRef(key="spare"), timeout=10)
    if n.name != "spare":
        fail("RemoveNode: %s" % n)
    refused(lambda: s.GetNode(pb.NodeRef(key="spare"), timeout=10), grpc.StatusCode.NOT_FOUND, "GetNode of removed")
    refused(lambda: s.RemoveNode(pb.NodeRef(key="spare"), timeout=10), grpc.StatusCode.NOT_FOUND, "RemoveNode twice")
    ok("%s passes by the learned policy; RemoveNode removed the spare node" % b[:16])


def phase_paging():
    """ARGS: COUNT. Enroll COUNT nodes, then page over all of them."""
    count = int(ARGS[0])
    s = stub()
    base, _ = all_nodes(s)
    for i in range(count):
        s.EnrollNode(pb.EnrollNodeRequest(key="%064x" % (0xC0FFEE0000 + i)), timeout=10)
    nodes, pages = all_nodes(s)
    hashes = [n.ek_hash for n in nodes]
    if len(hashes) != len(base) + count or len(set(hashes)) != len(hashes) or pages != (len(hashes) + 99) // 100:
        fail("paging: %d nodes in %d pages, want %d" % (len(hashes), pages, len(base) + count))
    small, spages = all_nodes(s, page_size=7)
    if [n.ek_hash for n in small] != hashes:
        fail("paging by 7 lists other nodes than by 100")
    big = s.ListNodes(pb.ListNodesRequest(page_size=5000), timeout=30)
    if len(big.nodes) != min(1000, len(hashes)):
        fail("page_size 5000: %d nodes, want at most 1000" % len(big.nodes))
    ok("paging: %d nodes in %d pages of 100 and %d of 7, each once, in the same order; page_size capped at 1000"
       % (len(hashes), pages, spages))


def phase_reattest():
    """ARGS: NODE. Pull mode: Reattest starts an attestation now."""
    s = stub()
    r = s.Reattest(pb.NodeRef(key=ARGS[0][:16]), timeout=10)
    if not r.target:
        fail("Reattest: %s" % r)
    ok("Reattest: the node at %s is attested now" % r.target)


def phase_watch():
    """ARGS: NODE_FILTER EXPECT. Watch (every node, or the node NODE_FILTER
    names; "-" for every node), print READY once the stream is set up,
    then read until the changes EXPECT lists
    (NODE:FROM:TO,... with NODE an EK hash prefix) came, in that order,
    each once, and nothing else."""
    node, expect = ARGS[0], [e.split(":") for e in ARGS[1].split(",")]
    call = stub().WatchEvents(pb.WatchRequest(node="" if node == "-" else node), timeout=120)
    call.initial_metadata()  # the verifier sends its headers once subscribed
    print("READY", flush=True)
    got, last_seq = [], 0
    for ev in call:
        if ev.seq <= last_seq:
            fail("seq %d after %d: not in the order recorded" % (ev.seq, last_seq))
        last_seq = ev.seq
        got.append(ev)
        want = expect[len(got) - 1]
        if not ev.node.startswith(want[0]) or (ev.from_state, ev.to_state) != (want[1], want[2]):
            fail("change %d: node %.16s %s -> %s, want %s %s -> %s" % (len(got), ev.node, ev.from_state,
                                                                     ev.to_state, *want))
        if ev.mode != "push" or ev.attestation <= 0 or ev.time_ms <= 0:
            fail("change %d: mode %r attestation %d time %d" % (len(got), ev.mode, ev.attestation, ev.time_ms))
        if ev.to_state == "failed" and "PCR 7" not in ev.reason:
            fail("change %d: failed, but the reason is %r" % (len(got), ev.reason))
        if len(got) == len(expect):
            break
    if len(got) != len(expect):
        fail("the stream ended after %d of %d changes" % (len(got), len(expect)))
    call.cancel()
    ok("WatchEvents (%s): %s, in order (seq %s)" % ("every node" if node == "-" else node[:16],
                                                    ", ".join("%.8s %s -> %s" % (e.node, e.from_state, e.to_state)
                                                              for e in got),
                                                    " ".join(str(e.seq) for e in got)))


{"refusals": phase_refusals, "nodes": phase_nodes, "policies": phase_policies, "learned": phase_learned,
 "passing": phase_passing, "paging": phase_paging, "reattest": phase_reattest, "watch": phase_watch}[PHASE]()
