/* IMA measurement lists: ima_parse / ima_ascii_parse / ima_list_verify and
 * the running replay (ima_replay*), against real lists from the shared
 * testdata (tpm2-tss, IBM ACS, keylime, rust-keylime).
 *
 * Expected PCR values come from an independent implementation, the Python
 * script below (written from the kernel's ima_fs.c / ima_crypto.c, run with
 * python3 3.11 hashlib; "python3 imaref.py LIST" prints the replayed PCRs for
 * a binary list, "python3 imaref.py LIST.txt sha1" for an ASCII one; the
 * tables further down are its output). Nothing here was copied from our code.
 *
 * Facts about the shared data this test pins (found with that script):
 * - The three tpm2-tss "good" lists end in a partial entry (1, 1 and 6
 *   bytes): they were cut from a live list. Their whole-entry prefixes (558,
 *   916, 987 bytes) are the good lists; the whole files must fail AERR_PARSE
 *   naming the partial entry.
 * - The tpm2-tss "-invalidated" twins are not tampered lists: tpm2-tss's own
 *   test (test/unit/fapi-check-ima-log.c) expects them to load. Two hold
 *   violation entries (all-zero template hash), which replay as 0xFF and so
 *   do not reproduce their good twin's PCR (AERR_EVENTLOG); the third
 *   (ima-ng) is cut inside its only entry: AERR_PARSE at entry 0, offset 0.
 * - acs-imasig.bin is the tampered one: entry 1079 (offset 259648) names
 *   /usr/bin/xautt, and its template hash matches only /usr/bin/xauth. The
 *   test rejects it as is and replays the restored list.
 *
 * ---- imaref.py ----
 * #!/usr/bin/python3
 * # Independent IMA reference: parse binary/ascii list, check template hashes, replay PCRs.
 * import hashlib, struct, sys
 * H = {'sha1': 20, 'sha256': 32, 'sha384': 48, 'sha512': 64, 'sm3': 32}
 * def h(alg, b): return hashlib.new(alg, b).digest()
 * def entries_bin(b):
 *     o = 0
 *     while o < len(b):
 *         pcr, th = struct.unpack_from('<I', b, o)[0], b[o+4:o+24]; o += 24
 *         n = struct.unpack_from('<I', b, o)[0]; name = b[o+4:o+4+n].decode(); o += 4 + n
 *         if name == 'ima':
 *             d = b[o:o+20]; fl = struct.unpack_from('<I', b, o+20)[0]; f = b[o+24:o+24+fl]; o += 24 + fl
 *             assert len(f) == fl
 *             hin = d + f + bytes(256 - fl)
 *         else:
 *             dl = struct.unpack_from('<I', b, o)[0]; hin = b[o+4:o+4+dl]; o += 4 + dl
 *             assert len(hin) == dl
 *         yield pcr, th, name, hin
 * def entries_ascii(t, thalg):
 *     for line in t.splitlines():
 *         f = line.split(' ')
 *         pcr, th, name = int(f[0]), bytes.fromhex(f[1]), f[2]
 *         assert name == 'ima-ng'
 *         alg, dg = f[3].split(':')
 *         d = alg.encode() + b':\0' + bytes.fromhex(dg); p = f[4].encode() + b'\0'
 *         yield pcr, th, name, struct.pack('<I', len(d)) + d + struct.pack('<I', len(p)) + p
 * def replay(ents, banks, thalg='sha1', pad=False):
 *     pcrs = {a: {} for a in banks}; bad = []; viol = 0
 *     for i, (pcr, th, name, hin) in enumerate(ents):
 *         v = th == bytes(len(th))
 *         viol += v
 *         if not v and h(thalg, hin) != th: bad.append(i)
 *         for a in banks:
 *             cur = pcrs[a].get(pcr, bytes(H[a]))
 *             if pad: ext = (b'\xff' * 20 if v else h('sha1', hin)) + bytes(H[a] - 20)
 *             else: ext = b'\xff' * H[a] if v else h(a, hin)
 *             pcrs[a][pcr] = h(a, cur + ext)
 *     return pcrs, bad, viol
 * if __name__ == '__main__':
 *     path = sys.argv[1]
 *     if path.endswith('.txt'):
 *         thalg = sys.argv[2]; ents = list(entries_ascii(open(path).read(), thalg))
 *     else:
 *         thalg = 'sha1'; ents = list(entries_bin(open(path, 'rb').read()))
 *     for pad in (False, True):
 *         pcrs, bad, viol = replay(ents, ['sha1', 'sha256', 'sha384', 'sha512'], thalg, pad)
 *         print(path.split('/')[-1], 'entries', len(ents), 'violations', viol, 'bad', bad, 'pad' if pad else 'perbank')
 *         for a in pcrs:
 *             for p in sorted(pcrs[a]): print(' ', a, p, pcrs[a][p].hex())
 * ---- end ---- */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "array.h"
#include "fixtures.h"
#include "ima.h"

#define PCR10 (1u << IMA_PCR)
#define ACS_BAD_ENTRY 1079u
#define ACS_BAD_OFFSET 259648u
#define ACS_BAD_BYTE 259748u    /* the 't' of "xautt" */

static const TPM2_ALG_ID banks4[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };

struct bin_ref {
	const char *file;
	size_t good_len;            /* whole-entry prefix */
	size_t nentries, nviolations;
	const char *whole_err;      /* the whole file's AERR_PARSE detail, or NULL when it is all good */
	const char *per_bank[4];    /* PCR 10 in banks4 order, IMA_REPLAY_PER_BANK */
	const char *pad_sha1[4];    /* IMA_REPLAY_PAD_SHA1 */
};

static const struct bin_ref bin_refs[] = {
	{ "tss-sml-ima-ng-sha1.bin", 558, 6, 0, "entry 6 at offset 558",
	  { "ef2a20de2a84a4780f92ab11d5c4934c709dff00",
	    "700a1bb47bc2bc005f2d8e23d80e2a1e301733c1d29023c52d1d7d149719eb64",
	    "784d371aa7416fe6642c57f89e6c52d70a7151b4195dd7f79e8f7b1e9d51ba5f2b049bed2294e1c0522a6c64b9abd850",
	    "b8faf3bfad2b9711f7264384339c1cd02198a6cf5788724669247ca9dc2d3a587be419240344200ac7788a40a0de7368a509cb5ead79f3809903b2a0a336ee9c" },
	  { "ef2a20de2a84a4780f92ab11d5c4934c709dff00",
	    "f4059058172c2d1d279b7ce206ce9373249786f9a9dc59a2af279e0eaed14a26",
	    "6fbd2d11de5b12125dd05cfd326c29fa1caf927d034a20a6fb43bc127f94004ea715ec45ffd97de3d9e17be9fb722e71",
	    "363852b257aee9bff6b2155563022c9ffe8a2223e595ce496d9ed8d2d0b7ea65c7c4ea17daa61a4f6fe3576c20dadf684518658d760be0432ca94ae40fc58f5d" } },
	{ "tss-sml-ima-sha1.bin", 916, 12, 0, "entry 12 at offset 916",
	  { "062a05a9d18d1a51775ff8162bf6964b8dd23eb4",
	    "239ba8e6f20ecfec961d771036c68f02dbeb771678b64c18cba81363e8e7139a",
	    "62e7d264db907a7f25ea82181e53ef9c89a709632861646e0b3456dab91b609ca1a333820cd88731d36b6278eeb517ab",
	    "86d478dc6ff22e4e7e86d69ae46f0e780cee5d9968c06c0ac6b2b4f12da8ce9ac90583604af64a1d6fb4634912b8e66a321dc68c5d6b7c2e6a714a56c0eef915" },
	  { "062a05a9d18d1a51775ff8162bf6964b8dd23eb4",
	    "fe965aa7a38d566f153dbefe5841c37c4494d93f0716e53b3617343d801fd349",
	    "6bff45c1168d3a0da40d6ea67acefbeb1c12e2a93142811bf7f6cee651542caa1b48641729f8cd869709c226513ac486",
	    "99d710462d63f114a33cc5077559cc10eae4321f8180e9f4458913008c94a75f65c217148c23790254b0ce74d681bad873240d78dbfb98cc46d007784341391b" } },
	{ "tss-sml-ima-sig-sha256.bin", 987, 9, 0, "entry 9 at offset 987",
	  { "b44019405884709ca410b0c30b48159d3a556622",
	    "a7e76625386d3dc6248552e44a3b2b1bebb6f2ff3acc9bd220821ad22f7a9d6a",
	    "b105fcae85454a6233a169ff4425d24686ddc0c4f51cc6750a5fad6177b7c2821d405b3a05cc4d5a73ed83dd97ed7afb",
	    "a7afebb8323faf2678f833cb32288113a59a264d5a97e3f4b70fd911a28b77e1e6218f496411b8991691c04e2f8949f09ca4033e4868d603cc8ee6d926ea08d5" },
	  { "b44019405884709ca410b0c30b48159d3a556622",
	    "9795c7da414424d16efd3821f51d88fd39d64ec382ce36a28ca650a3e9f69c18",
	    "b467b73327b55711d9e258ede8803ad49bdb23d786dba0e3b0fd9b4099e2824edf5afa338f15d6fb3b725c5324ea4c50",
	    "eb13925132a7ed2c518c764a9c179de964fe903eb0e8fb3c2ad480043571c5feba311233acea33852a7c39eb50f3eaa387bcdb93f73607601fbb64d23d8e273f" } },
	{ "tss-sml-ima-sha1-invalidated.bin", 69, 1, 1, NULL,
	  { "bac37b84f007d0238af95af707cac8d61254870e",
	    "bba91ca85dc914b2ec3efb9e16e7267bf9193b14350d20fba8a8b406730ae30a",
	    "7d4fd80ec2887e82b1a453745c5cbd24e2be56273d311fd7ab567c50c7a3a37065b7328375dc9045fb0fe02e12d34d75",
	    "d04a696838c91ec2226cf3a39cdadb48e3bb010ece368b0f81f573a73c2fe70ffd358ceba267e0dc15a73ee0a582972ef3460973ec2384163e486ed97d1095ad" },
	  { "bac37b84f007d0238af95af707cac8d61254870e",
	    "c7f7a2d90bcd6bd873119c8deff0b1c8eec6623bcd3a8182aa4cb1db65002115",
	    "28b8c2acfd8a23a0b0bcffef5b148fe930254394d6e668b57eba52de23c2f1402c56d5db2f5d79eacb093e1cd9d91882",
	    "43ac68e3530974f93c6a98d04c7175d57d952cd4b4694a9ad01a411fdf4d4a061897ced8f2e21bbab3fddddf43cbf0a87536586e66840819107d08010e8e4cf7" } },
	{ "tss-sml-ima-sig-sha256-invalidated.bin", 189, 2, 1, NULL,
	  { "a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d",
	    "338c5ec5cba3d64a886cc6f369f10e5209bf8f49db078635723bb1ed8091b2ba",
	    "50a7992e297f66a2ea76f63986965c5e376e19cdba998e665244f7888456a1a35153541c6f502c18b71161d892e62537",
	    "31cf1b10f23482c86ea8e1ddbf473e2f1a4c508894549cf8dddae538b1153925499bbbdc2270f55dc79b3fbbd4f8e7083efcd1da0206d1449f44ec64316bd064" },
	  { "a0e7bc9af0a2b54147b0d595d058f15c6cc44a6d",
	    "f2f46aea1e58bbde2ddbb455c76051da641c69453fad9103a1fd1f42bac3b90b",
	    "f28bd2c8dc30c1542f881d86a06df18ce2af8a2107260b4d512617b97f39e83f804bdfb2149db139ea23113e7080c901",
	    "9e68b1c9bbdca26296a18a068d810ce86890788d09df6406fd27bba9dcec306b1a05de9ab6936cf5b9bdac484cd05846c9309d85a52b960f937756cd50beae45" } },
	{ "acs-imasig.bin", 260620, 1083, 0, NULL,  /* entry 1079 restored, see test_acs_tampered */
	  { "f8e65e48a831bd650a348836486b8870d46fdf09",
	    "d5d726e07d77a93949f75a56d43d8fdfc1c4f82468ace0c6612738c1ded882b3",
	    "fd0f7bb080c2b55da8cfc08d78b5a1fb80e65388b0169cb9e7e3c3d0433f379a5d55451e2ac4473b01de01ea22f2f651",
	    "3fcfd7ebb3796a5b6c4e10e8df1f67611a5b82043fa1538890604a4b2aeef868cbfaee7578cba6e4e0c428272ee811a002c185d4564c3c06fdddf494e248504e" },
	  { "f8e65e48a831bd650a348836486b8870d46fdf09",
	    "21a8d85b4adc8330a098d838368495f06dabf4cc011386125357342ec72b4f8a",
	    "02758e4024431385ef3aa3de8ae1c0d725b8813b99e9ee6d73d1cfc2e67edec195ea3a104ad8f2f06f52a42ae073dd07",
	    "0a108b1785c714b2307213581cb73b36eec8022e61aeffa1a9608d2670f0153dd00d394b29f30529a045bb0b69869ff619bd4b06b89a8066d3df1b58a2bd609e" } },
};

struct ascii_ref {
	const char *file;
	TPM2_ALG_ID hash_alg;
	size_t nentries, nviolations;
	const char *sha1, *sha256;  /* PCR 10, per bank */
};

static const struct ascii_ref ascii_refs[] = {
	{ "keylime-ima-log-sha1.txt", TPM2_ALG_SHA1, 2, 1, "62e5bdf4783228f7deec959f0a89a4739af79ac5",
	  "37c153b0a390c91993992d79eb0b9b05b5cb9085c6179528e1b71694ed19896c" },
	{ "keylime-ima-log-sha256.txt", TPM2_ALG_SHA1, 2, 0, "8adcb4304b78ee782bbba3733b191591e75dc83d",
	  "8dcd5e7eb63e363377ec19b0d358601ccc19f25a30486f35784c5288dbb91d9d" },
	{ "keylime-ima-log-sha384.txt", TPM2_ALG_SHA1, 2, 1, "3dfd156753bbf66afbb3c10b98bac02ed13b481c",
	  "35771508049511f8d3aef6691b528a1ea2fdcf13839dc0edceec1fa2ffb0737e" },
	{ "keylime-ima-log-sha512.txt", TPM2_ALG_SHA1, 2, 1, "a37fb4ca32af8c94fefe8a4ce10d4b6dac5a7322",
	  "ac16f32385ac34b7ca6b15b2afc7a319249206634d8143b5b245ddac4f11a2eb" },
	{ "keylime-ima-log-sm3_256.txt", TPM2_ALG_SM3_256, 2, 1, "6956cf4a0031dae91883dd046db1731a8cdfc6b2",
	  "4b2794784f13841ecdd6626211bd572eb4862e633ea198cdf8fecf7c1929043d" },
	{ "rustkeylime-ascii_runtime_measurements.txt", TPM2_ALG_SHA1, 826, 0, "82231c67a69da98dc5b3aa10f6343d33109225fc",
	  "c4a065637fc6a7c55f2811dd06cb45dd037133be2b3dc5c3e6fbe6bf061db724" },
};

/* PCR 10 after the first 500 entries of the restored ACS list (imaref.py). */
static const char *acs500_sha1 = "8f251b197a328a0a3201496c95c1f12ffb27709c";
static const char *acs500_sha256 = "65ce9b8f998ab7e8e511fcb68f733c4e168c715867436312554c68a89109243f";

/* ---- helpers ---- */

/* An exact-size copy, so ASan sees any read past the end. */
static uint8_t *load(const char *name, size_t *len)
{
	char rel[512];
	uint8_t *buf, *exact;

	snprintf(rel, sizeof(rel), "ima/%s", name);
	buf = fixture_read(fixture_testdata(rel), len);
	if (!buf)
		fail_msg("cannot read %s", fixture_testdata(rel));
	exact = malloc(*len ? *len : 1);
	assert_non_null(exact);
	memcpy(exact, buf, *len);
	free(buf);
	return exact;
}

static uint8_t *load_acs_restored(size_t *len)
{
	uint8_t *b = load("acs-imasig.bin", len);

	assert_true(*len > ACS_BAD_BYTE);
	assert_int_equal(b[ACS_BAD_BYTE], 't');
	b[ACS_BAD_BYTE] = 'h';
	return b;
}

static uint8_t *load_ref(const struct bin_ref *ref, size_t *len)
{
	if (strcmp(ref->file, "acs-imasig.bin") == 0)
		return load_acs_restored(len);
	return load(ref->file, len);
}

static void detail_has(const char *what)
{
	if (!strstr(err_detail(), what))
		fail_msg("err_detail \"%s\" lacks \"%s\"", err_detail(), what);
}

static void expect_rc(int r, int want)
{
	if (r != want)
		fail_msg("got %s (%d), want %s (%d): %s", err_str(r), r, err_str(want), want, err_detail());
}

static void unhex_or_fail(const char *hex, uint8_t *out, size_t want)
{
	assert_int_equal(fixture_unhex(hex, out, CRYPTO_MAX_DIGEST), (int)want);
}

static void expect_pcr(const struct ima_replay_state *st, TPM2_ALG_ID alg, const char *hex)
{
	uint8_t v[CRYPTO_MAX_DIGEST];
	size_t n = crypto_digest_size(alg);

	unhex_or_fail(hex, v, n);
	expect_rc(ima_replay_check(st, alg, IMA_PCR, v, n), 0);
}

/* Quoted-values struct with PCR 10 of the given banks. */
static void make_values(struct pcr_values *pv, const TPM2_ALG_ID *algs, const char *const *hex, uint32_t n)
{
	memset(pv, 0, sizeof(*pv));
	for (uint32_t b = 0; b < n; b++) {
		pv->banks[b].alg = algs[b];
		pv->banks[b].mask = PCR10;
		unhex_or_fail(hex[b], pv->banks[b].value[IMA_PCR], crypto_digest_size(algs[b]));
	}
	pv->nbanks = n;
}

/* ---- real binary lists ---- */

static void test_binary_lists(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bin_refs); i++) {
		const struct bin_ref *ref = &bin_refs[i];
		struct ima_replay_state st, pad;
		struct ima_list *l = NULL;
		struct pcr_values pv;
		size_t len, nviol = 99;
		uint8_t *buf = load_ref(ref, &len);
		int r;

		assert_true(ref->good_len <= len);
		if ((r = ima_parse(buf, ref->good_len, 0, &l)) != 0)
			fail_msg("%s: %s: %s", ref->file, err_str(r), err_detail());
		assert_int_equal(l->nentries, ref->nentries);
		assert_int_equal(l->size, ref->good_len);
		expect_rc(ima_list_verify(l, &nviol), 0);
		assert_int_equal(nviol, ref->nviolations);
		ima_list_free(l);

		expect_rc(ima_replay_init(&st, banks4, 4, IMA_REPLAY_PER_BANK), 0);
		expect_rc(ima_replay_init(&pad, banks4, 4, IMA_REPLAY_PAD_SHA1), 0);
		expect_rc(ima_replay(&st, buf, ref->good_len, NULL), 0);
		expect_rc(ima_replay(&pad, buf, ref->good_len, NULL), 0);
		assert_int_equal(st.count, ref->nentries);
		assert_int_equal(st.bytes, ref->good_len);
		assert_int_equal(st.nviolations, ref->nviolations);
		assert_int_equal(st.extended, PCR10);
		for (int b = 0; b < 4; b++) {
			expect_pcr(&st, banks4[b], ref->per_bank[b]);
			expect_pcr(&pad, banks4[b], ref->pad_sha1[b]);
		}
		make_values(&pv, banks4, ref->per_bank, 4);
		expect_rc(ima_replay_check_pcrs(&st, &pv, PCR10), 0);
		/* The two modes differ in every bank but SHA-1: a verifier must pick the kernel's. */
		expect_rc(ima_replay_check_pcrs(&pad, &pv, PCR10), AERR_EVENTLOG);
		detail_has("sha256 PCR 10");

		if (ref->whole_err) {
			expect_rc(ima_parse(buf, len, 0, &l), AERR_PARSE);
			assert_null(l);
			detail_has(ref->whole_err);
			detail_has("truncated");
		} else {
			assert_int_equal(len, ref->good_len);
		}
		free(buf);
	}
}

static void replay_file_prefix(const char *file, size_t len, struct ima_replay_state *st)
{
	size_t flen;
	uint8_t *buf = load(file, &flen);

	assert_true(len <= flen);
	expect_rc(ima_replay_init(st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
	expect_rc(ima_replay(st, buf, len, NULL), 0);
	free(buf);
}

/* The tpm2-tss "-invalidated" twins: violations, which load, count, replay
 * as 0xFF and do not reproduce the good twin's PCR 10. */
static void test_violation_twins(void **state)
{
	static const struct {
		const char *bad, *good;
		size_t len, violation_entry;
	} twins[] = {
		{ "tss-sml-ima-sha1-invalidated.bin", "tss-sml-ima-sha1.bin", 69, 0 },
		{ "tss-sml-ima-sig-sha256-invalidated.bin", "tss-sml-ima-sig-sha256.bin", 189, 1 },
	};
	struct ima_list *l = NULL;
	size_t len;
	uint8_t *buf;

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		const struct bin_ref *good = NULL;
		struct ima_replay_state st;
		struct pcr_values pv;
		size_t nv = 0;

		for (size_t i = 0; i < ARRAY_LEN(bin_refs); i++)
			if (strcmp(bin_refs[i].file, twins[t].good) == 0)
				good = &bin_refs[i];
		assert_non_null(good);
		buf = load(twins[t].bad, &len);
		assert_int_equal(len, twins[t].len);
		expect_rc(ima_parse(buf, len, 0, &l), 0);
		expect_rc(ima_list_verify(l, &nv), 0);
		assert_int_equal(nv, 1);
		assert_true(l->entries[twins[t].violation_entry].violation);
		ima_list_free(l);
		l = NULL;
		free(buf);

		replay_file_prefix(twins[t].bad, twins[t].len, &st);
		make_values(&pv, banks4, good->per_bank, 2);
		expect_rc(ima_replay_check_pcrs(&st, &pv, PCR10), AERR_EVENTLOG);
		detail_has("sha1 PCR 10");
	}
	buf = load("tss-sml-ima-ng-sha1-invalidated.bin", &len);
	expect_rc(ima_parse(buf, len, 0, &l), AERR_PARSE);
	assert_null(l);
	detail_has("entry 0 at offset 0");
	free(buf);
}

/* The ACS list as shipped: one tampered entry. */
static void test_acs_tampered(void **state)
{
	struct ima_replay_state st, before;
	struct ima_list *l = NULL;
	size_t len;
	uint8_t *buf = load("acs-imasig.bin", &len);

	(void)state;
	expect_rc(ima_parse(buf, len, 0, &l), 0);
	assert_int_equal(l->nentries, 1083);
	assert_int_equal(l->entries[ACS_BAD_ENTRY].offset, ACS_BAD_OFFSET);
	assert_string_equal(l->entries[ACS_BAD_ENTRY].path, "/usr/bin/xautt");
	expect_rc(ima_list_verify(l, NULL), AERR_PCR_DIGEST);
	detail_has("entry 1079 at offset 259648");
	ima_list_free(l);

	/* ima_replay is all or nothing. */
	expect_rc(ima_replay_init(&st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
	before = st;
	l = (struct ima_list *)&st; /* must be NULLed */
	expect_rc(ima_replay(&st, buf, len, &l), AERR_PCR_DIGEST);
	assert_null(l);
	detail_has("entry 1079 at offset 259648");
	assert_memory_equal(&st, &before, sizeof(st));
	/* The entries before it are fine; from the bad one on, not. */
	expect_rc(ima_replay(&st, buf, ACS_BAD_OFFSET, NULL), 0);
	assert_int_equal(st.count, ACS_BAD_ENTRY);
	expect_rc(ima_replay(&st, buf + ACS_BAD_OFFSET, len - ACS_BAD_OFFSET, NULL), AERR_PCR_DIGEST);
	detail_has("entry 1079 at offset 0"); /* offsets are within the chunk */
	assert_int_equal(st.count, ACS_BAD_ENTRY);
	free(buf);
}

/* Flip every bit of a good list. Each variant must fail to parse, fail the
 * template-hash check naming the entry that holds the bit, or replay to a
 * PCR 10 other than the quoted one. The one exception is IMA's own: the
 * template name is not hashed, so renaming a template to an unknown one
 * keeps the PCR; the entry then parses as unknown (raw), which policy sees. */
static void test_bitflips(void **state)
{
	const struct bin_ref *ref = &bin_refs[2]; /* tss-sml-ima-sig-sha256.bin */
	struct ima_list *orig = NULL;
	struct pcr_values pv;
	size_t len, n_parse = 0, n_hash = 0, n_pcr = 0, n_name = 0;
	uint8_t *buf = load(ref->file, &len);

	(void)state;
	assert_string_equal(ref->file, "tss-sml-ima-sig-sha256.bin");
	len = ref->good_len;
	expect_rc(ima_parse(buf, len, 0, &orig), 0);
	make_values(&pv, banks4, ref->per_bank, 2);
	for (size_t off = 0; off < len; off++) {
		size_t k = orig->nentries - 1;
		char want[64];

		while (orig->entries[k].offset > off)
			k--;
		snprintf(want, sizeof(want), "entry %zu at offset %zu", k, orig->entries[k].offset);
		for (int bit = 0; bit < 8; bit++) {
			struct ima_replay_state st;
			struct ima_list *l = NULL;
			size_t name_at = orig->entries[k].offset + 28;
			int r;

			buf[off] ^= (uint8_t)(1u << bit);
			expect_rc(ima_replay_init(&st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
			r = ima_replay(&st, buf, len, &l);
			if (r == AERR_PARSE || r == AERR_TOO_LARGE) {
				n_parse++;
			} else if (r == AERR_PCR_DIGEST) {
				detail_has(want);
				n_hash++;
			} else {
				expect_rc(r, 0);
				r = ima_replay_check_pcrs(&st, &pv, PCR10);
				if (r == 0) {
					if (off < name_at || off >= name_at + strlen(orig->entries[k].template_name) ||
					    l->entries[k].tmpl != IMA_TEMPLATE_UNKNOWN)
						fail_msg("flip of bit %d at offset %zu accepted", bit, off);
					n_name++;
				} else {
					expect_rc(r, AERR_EVENTLOG);
					n_pcr++;
				}
			}
			ima_list_free(l);
			buf[off] ^= (uint8_t)(1u << bit);
		}
	}
	/* Every kind of rejection happened (the test can tell them apart). */
	assert_true(n_parse > 0 && n_hash > 0 && n_pcr > 0);
	print_message("bit flips: %zu parse, %zu template hash, %zu PCR, %zu template renames\n", n_parse, n_hash,
		      n_pcr, n_name);
	ima_list_free(orig);
	free(buf);
}

/* Cut a list at every byte: entry boundaries give shorter lists, anything
 * else AERR_PARSE. */
static void test_truncations(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const struct bin_ref *ref = &bin_refs[i];
		struct ima_list *full = NULL;
		size_t flen;
		uint8_t *buf = load(ref->file, &flen);

		expect_rc(ima_parse(buf, ref->good_len, 0, &full), 0);
		for (size_t cut = 0, k = 0; cut <= ref->good_len; cut++) {
			uint8_t *exact = malloc(cut ? cut : 1);
			struct ima_list *l = NULL;
			int boundary = cut == ref->good_len || (k < full->nentries && full->entries[k].offset == cut);
			int r;

			memcpy(exact, buf, cut);
			r = ima_parse(exact, cut, 7, &l);
			if (boundary) {
				expect_rc(r, 0);
				assert_int_equal(l->nentries, cut == ref->good_len ? full->nentries : k);
				expect_rc(ima_list_verify(l, NULL), 0);
				if (cut < ref->good_len)
					k++;
			} else {
				expect_rc(r, AERR_PARSE);
				assert_null(l);
				detail_has("truncated");
			}
			ima_list_free(l);
			free(exact);
		}
		ima_list_free(full);
		free(buf);
	}
}

/* A verifier's rounds: the restored ACS list in 2..1083 chunks of whole
 * entries ends at the same PCRs as one pass. */
static void test_incremental(void **state)
{
	static const size_t nchunks[] = { 2, 3, 7, 64, 1083 };
	const struct bin_ref *ref = &bin_refs[5];
	struct ima_list *full = NULL;
	size_t len;
	uint8_t *buf = load_acs_restored(&len);

	(void)state;
	assert_string_equal(ref->file, "acs-imasig.bin");
	expect_rc(ima_parse(buf, len, 0, &full), 0);
	for (size_t c = 0; c < ARRAY_LEN(nchunks); c++) {
		struct ima_replay_state st, before;
		size_t start = 0;

		expect_rc(ima_replay_init(&st, banks4, 4, IMA_REPLAY_PER_BANK), 0);
		for (size_t k = 1; k <= nchunks[c]; k++) {
			size_t end_entry = full->nentries * k / nchunks[c];
			size_t end = end_entry < full->nentries ? full->entries[end_entry].offset : len;
			struct ima_list *l = NULL;

			/* A chunk that does not end on an entry boundary is refused whole. */
			if (end - start > 1) {
				before = st;
				expect_rc(ima_replay(&st, buf + start, end - start - 1, NULL), AERR_PARSE);
				assert_memory_equal(&st, &before, sizeof(st));
			}
			expect_rc(ima_replay(&st, buf + start, end - start, &l), 0);
			assert_int_equal(l->first_index, full->nentries * (k - 1) / nchunks[c]);
			assert_int_equal(st.bytes, end);
			ima_list_free(l);
			start = end;
		}
		assert_int_equal(st.count, full->nentries);
		for (int b = 0; b < 4; b++)
			expect_pcr(&st, banks4[b], ref->per_bank[b]);
	}
	ima_list_free(full);
	free(buf);
}

/* The list may run ahead of the quote: replay stops at the prefix the quote covers. */
static void test_replay_to_quote(void **state)
{
	const struct bin_ref *ref = &bin_refs[5];
	const char *mid[2] = { acs500_sha1, acs500_sha256 };
	struct ima_replay_state st, before;
	struct ima_list *l = NULL, *empty = NULL;
	struct pcr_values pv;
	size_t len, used = 99;
	uint8_t *buf = load_acs_restored(&len);

	(void)state;
	expect_rc(ima_replay_init(&st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
	/* Round 1: the quote covers 500 entries, the list holds 1083. */
	expect_rc(ima_parse(buf, len, st.count, &l), 0);
	expect_rc(ima_list_verify(l, NULL), 0);
	make_values(&pv, banks4, mid, 2);
	expect_rc(ima_replay_to_quote(&st, l, &pv, PCR10, &used), 0);
	assert_int_equal(used, 500);
	assert_int_equal(st.count, 500);
	assert_int_equal(st.bytes, l->entries[500].offset);
	/* The same list again does not start at st.count. */
	expect_rc(ima_replay_to_quote(&st, l, &pv, PCR10, &used), AERR_STATE);
	ima_list_free(l);
	l = NULL;

	/* Round 2: nothing new, the quote unchanged: the empty prefix matches. */
	expect_rc(ima_parse(buf + len, 0, st.count, &empty), 0);
	expect_rc(ima_replay_to_quote(&st, empty, &pv, PCR10, &used), 0);
	assert_int_equal(used, 0);

	/* Round 3: the rest, from the byte offset the state keeps. */
	expect_rc(ima_parse(buf + st.bytes, len - st.bytes, st.count, &l), 0);
	expect_rc(ima_list_verify(l, NULL), 0);
	make_values(&pv, banks4, ref->per_bank, 2);
	before = st;
	pv.banks[1].value[IMA_PCR][31] ^= 1; /* a quote no prefix reproduces */
	expect_rc(ima_replay_to_quote(&st, l, &pv, PCR10, &used), AERR_EVENTLOG);
	detail_has("no prefix");
	assert_memory_equal(&st, &before, sizeof(st));
	pv.banks[1].value[IMA_PCR][31] ^= 1;
	/* A quote of banks we do not replay cannot vouch for the list. */
	pv.banks[0].alg = TPM2_ALG_SHA384;
	pv.banks[1].alg = TPM2_ALG_SHA512;
	expect_rc(ima_replay_to_quote(&st, l, &pv, PCR10, &used), AERR_PCR_SELECTION);
	make_values(&pv, banks4, ref->per_bank, 2);
	expect_rc(ima_replay_to_quote(&st, l, &pv, PCR10, &used), 0);
	assert_int_equal(used, 583);
	assert_int_equal(st.count, 1083);
	assert_int_equal(st.bytes, len);
	ima_list_free(l);
	ima_list_free(empty);
	free(buf);
}

/* ---- ASCII lists ---- */

static char *load_text(const char *name, size_t *len)
{
	uint8_t *b = load(name, len);

	return (char *)b;
}

static void test_ascii_lists(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ascii_refs); i++) {
		const struct ascii_ref *ref = &ascii_refs[i];
		struct ima_replay_state st;
		struct ima_list *l = NULL;
		size_t len, nv = 99;
		char *text = load_text(ref->file, &len);
		int r;

		if ((r = ima_ascii_parse(text, len, ref->hash_alg, &l)) != 0)
			fail_msg("%s: %s: %s", ref->file, err_str(r), err_detail());
		assert_int_equal(l->nentries, ref->nentries);
		expect_rc(ima_list_verify(l, &nv), 0);
		assert_int_equal(nv, ref->nviolations);
		expect_rc(ima_replay_init(&st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
		for (size_t k = 0; k < l->nentries; k++)
			expect_rc(ima_replay_entry(&st, l, &l->entries[k]), 0);
		expect_pcr(&st, TPM2_ALG_SHA1, ref->sha1);
		expect_pcr(&st, TPM2_ALG_SHA256, ref->sha256);
		ima_list_free(l);
		free(text);
	}
}

static void test_ascii_tampered(void **state)
{
	struct ima_list *l = NULL;
	size_t len;
	char *text = load_text("rustkeylime-ascii_runtime_measurements.txt", &len);
	char *line = text, *digest;

	(void)state;
	for (int n = 1; n < 100; n++)
		line = strchr(line, '\n') + 1;
	digest = strstr(line, " sha1:") + 6;
	*digest = *digest == '0' ? '1' : '0';
	expect_rc(ima_ascii_parse(text, len, TPM2_ALG_SHA1, &l), 0);
	expect_rc(ima_list_verify(l, NULL), AERR_PCR_DIGEST);
	detail_has("line 100 (entry 99)");
	ima_list_free(l);
	l = NULL;
	/* Malformed lines. */
	expect_rc(ima_ascii_parse("10 00 ima-ng sha1:00 /x\n", 24, TPM2_ALG_SHA1, &l), AERR_PARSE);
	detail_has("line 1");
	expect_rc(ima_ascii_parse("\n", 1, TPM2_ALG_SHA1, &l), AERR_PARSE);
	expect_rc(ima_ascii_parse("24 0000000000000000000000000000000000000000 ima-ng sha1:00 /x", 61, TPM2_ALG_SHA1, &l),
		  AERR_PARSE);
	detail_has("PCR index 24");
	expect_rc(ima_ascii_parse("10 0000000000000000000000000000000000000000 evm-sig x y z", 56, TPM2_ALG_SHA1, &l),
		  AERR_UNSUPPORTED);
	assert_null(l);
	expect_rc(ima_ascii_parse("", 0, TPM2_ALG_SHA1, &l), 0);
	assert_int_equal(l->nentries, 0);
	ima_list_free(l);
	free(text);
}

static void hexs(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

/* Real binary lists written out as the kernel's ASCII list: the rebuilt
 * template data must hash to the kernel's template hashes, and the replay
 * must be the binary list's. Covers the "ima" and ima-sig layouts. */
static void test_ascii_from_binary(void **state)
{
	static const size_t which[] = { 1, 5 }; /* tss-sml-ima-sha1, acs restored */

	(void)state;
	for (size_t w = 0; w < 2; w++) {
		const struct bin_ref *ref = &bin_refs[which[w]];
		struct ima_list *bin = NULL, *asc = NULL;
		struct ima_replay_state st;
		size_t len, cap, used = 0;
		uint8_t *buf = load_ref(ref, &len);
		char *text;

		expect_rc(ima_parse(buf, ref->good_len, 0, &bin), 0);
		cap = 3 * ref->good_len + 64;
		text = malloc(cap);
		assert_non_null(text);
		for (size_t k = 0; k < bin->nentries; k++) {
			const struct ima_entry *e = &bin->entries[k];
			char h[2 * CRYPTO_MAX_DIGEST + 1], d[2 * CRYPTO_MAX_DIGEST + 1], *s;

			hexs(h, e->template_hash, 20);
			hexs(d, e->digest, e->digest_len);
			used += (size_t)sprintf(text + used, "%u %s %s ", e->pcr, h, e->template_name);
			if (e->tmpl == IMA_TEMPLATE_IMA)
				used += (size_t)sprintf(text + used, "%s %s\n", d, e->path);
			else
				used += (size_t)sprintf(text + used, "%s:%s %s ", e->digest_alg_name, d, e->path);
			if (e->tmpl == IMA_TEMPLATE_IMA_SIG) {
				s = malloc(2 * e->sig_len + 1);
				hexs(s, e->sig, e->sig_len);
				used += (size_t)sprintf(text + used, "%s\n", s);
				free(s);
			}
			assert_true(used < cap);
		}
		expect_rc(ima_ascii_parse(text, used, TPM2_ALG_SHA1, &asc), 0);
		assert_int_equal(asc->nentries, bin->nentries);
		expect_rc(ima_list_verify(asc, NULL), 0);
		expect_rc(ima_replay_init(&st, banks4, 4, IMA_REPLAY_PER_BANK), 0);
		for (size_t k = 0; k < asc->nentries; k++) {
			assert_int_equal(asc->entries[k].data_len, bin->entries[k].data_len);
			assert_memory_equal(asc->entries[k].data, bin->entries[k].data, bin->entries[k].data_len);
			expect_rc(ima_replay_entry(&st, asc, &asc->entries[k]), 0);
		}
		for (int b = 0; b < 4; b++)
			expect_pcr(&st, banks4[b], ref->per_bank[b]);
		ima_list_free(asc);
		ima_list_free(bin);
		free(text);
		free(buf);
	}
}

/* ---- synthetic entries: the other templates and malformed fields ---- */

struct bb {
	uint8_t b[4096];
	size_t n;
};

static void bb_u32(struct bb *x, uint32_t v)
{
	x->b[x->n++] = (uint8_t)v;
	x->b[x->n++] = (uint8_t)(v >> 8);
	x->b[x->n++] = (uint8_t)(v >> 16);
	x->b[x->n++] = (uint8_t)(v >> 24);
}

static void bb_put(struct bb *x, const void *p, size_t n)
{
	if (n)
		memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void bb_field(struct bb *x, const void *p, size_t n)
{
	bb_u32(x, (uint32_t)n);
	bb_put(x, p, n);
}

/* "<prefix>" NUL digest as a field. */
static void bb_digest(struct bb *x, const char *prefix, uint8_t fill, size_t dlen)
{
	uint8_t f[128];
	size_t pl = strlen(prefix);

	memcpy(f, prefix, pl + 1);
	memset(f + pl + 1, fill, dlen);
	bb_field(x, f, pl + 1 + dlen);
}

/* One binary entry with a correct SHA-1 template hash (OpenSSL, here). */
static void bb_entry(struct bb *out, uint32_t pcr, const char *name, const struct bb *data)
{
	uint8_t h[20];

	assert_int_equal(EVP_Digest(data->b, data->n, h, NULL, EVP_sha1(), NULL), 1);
	bb_u32(out, pcr);
	bb_put(out, h, 20);
	bb_field(out, name, strlen(name));
	bb_field(out, data->b, data->n);
}

static int parse_one(const char *name, const struct bb *data, struct ima_list **l)
{
	struct bb e = { .n = 0 };
	int r;

	bb_entry(&e, 10, name, data);
	if ((r = ima_parse(e.b, e.n, 0, l)) == 0)
		r = ima_list_verify(*l, NULL);
	return r;
}

static void test_templates(void **state)
{
	static const uint8_t sig[] = { 3, 2, 4, 1, 2, 3, 4, 0, 2, 0xaa, 0xbb };
	struct ima_list *l = NULL;
	struct bb d;
	const struct ima_entry *e;

	(void)state;
	/* ima-ngv2 */
	d.n = 0;
	bb_digest(&d, "verity:sha256:", 0x11, 32);
	bb_field(&d, "/bin/x", 7);
	expect_rc(parse_one("ima-ngv2", &d, &l), 0);
	e = &l->entries[0];
	assert_int_equal(e->tmpl, IMA_TEMPLATE_IMA_NGV2);
	assert_string_equal(e->digest_type, "verity");
	assert_int_equal(e->digest_alg, TPM2_ALG_SHA256);
	assert_int_equal(e->digest_len, 32);
	assert_int_equal(e->digest[0], 0x11);
	assert_string_equal(e->path, "/bin/x");
	ima_list_free(l);
	/* ima-sigv2 with a signature */
	d.n = 0;
	bb_digest(&d, "ima:sha512:", 0x22, 64);
	bb_field(&d, "/bin/y", 7);
	bb_field(&d, sig, sizeof(sig));
	expect_rc(parse_one("ima-sigv2", &d, &l), 0);
	e = &l->entries[0];
	assert_int_equal(e->tmpl, IMA_TEMPLATE_IMA_SIGV2);
	assert_int_equal(e->sig_len, sizeof(sig));
	assert_memory_equal(e->sig, sig, sizeof(sig));
	ima_list_free(l);
	/* ima-buf, unknown digest algorithm kept */
	d.n = 0;
	bb_digest(&d, "md5:", 0x33, 16);
	bb_field(&d, "kexec-cmdline", 14);
	bb_field(&d, "root=/dev/sda1", 14);
	expect_rc(parse_one("ima-buf", &d, &l), 0);
	e = &l->entries[0];
	assert_int_equal(e->digest_alg, TPM2_ALG_ERROR);
	assert_string_equal(e->digest_alg_name, "md5");
	assert_int_equal(e->buf_len, 14);
	assert_memory_equal(e->buf, "root=/dev/sda1", 14);
	ima_list_free(l);
	/* ima-modsig, with and without the appended signature */
	d.n = 0;
	bb_digest(&d, "sha256:", 0x44, 32);
	bb_field(&d, "/lib/m.ko", 10);
	bb_field(&d, NULL, 0);
	bb_digest(&d, "sha256:", 0x55, 32);
	bb_field(&d, "PKCS7", 5);
	expect_rc(parse_one("ima-modsig", &d, &l), 0);
	assert_int_equal(l->entries[0].modsig_len, 5);
	assert_null(l->entries[0].sig);
	ima_list_free(l);
	d.n = 0;
	bb_digest(&d, "sha256:", 0x44, 32);
	bb_field(&d, "/lib/m.ko", 10);
	bb_field(&d, NULL, 0);
	bb_field(&d, NULL, 0);
	bb_field(&d, NULL, 0);
	expect_rc(parse_one("ima-modsig", &d, &l), 0);
	ima_list_free(l);
	/* unknown templates: kept raw, hash still checked */
	d.n = 0;
	bb_field(&d, "whatever", 8);
	expect_rc(parse_one("evm-sig", &d, &l), 0);
	assert_int_equal(l->entries[0].tmpl, IMA_TEMPLATE_UNKNOWN);
	assert_null(l->entries[0].path);
	assert_int_equal(l->entries[0].data_len, 12);
	ima_list_free(l);
	l = NULL;

	/* Malformed fields, each with its own detail. */
	d.n = 0;
	bb_digest(&d, "foo:sha256:", 0, 32);
	bb_field(&d, "/x", 3);
	expect_rc(parse_one("ima-ngv2", &d, &l), AERR_PARSE);
	detail_has("neither ima nor verity");
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 31);
	bb_field(&d, "/x", 3);
	expect_rc(parse_one("ima-ng", &d, &l), AERR_PARSE);
	detail_has("sha256 digest of 31 bytes");
	d.n = 0;
	bb_digest(&d, "sha256", 0, 32);
	bb_field(&d, "/x", 3);
	expect_rc(parse_one("ima-ng", &d, &l), AERR_PARSE);
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x", 2);
	expect_rc(parse_one("ima-ng", &d, &l), AERR_PARSE);
	detail_has("NUL-terminated");
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x\0y", 5);
	expect_rc(parse_one("ima-ng", &d, &l), AERR_PARSE);
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x", 3);
	bb_u32(&d, 0);
	expect_rc(parse_one("ima-ng", &d, &l), AERR_PARSE);
	detail_has("after its last field");
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x", 3);
	expect_rc(parse_one("ima-sig", &d, &l), AERR_PARSE);
	detail_has("runs past");
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x", 3);
	bb_field(&d, "\x05junk", 5);
	expect_rc(parse_one("ima-sig", &d, &l), AERR_PARSE);
	detail_has("sig field of type 5");
	d.n = 0;
	bb_digest(&d, "sha256:", 0, 32);
	bb_field(&d, "/x", 3);
	bb_field(&d, NULL, 0);
	bb_field(&d, NULL, 0);
	bb_field(&d, "PKCS7", 5);
	expect_rc(parse_one("ima-modsig", &d, &l), AERR_PARSE);
	detail_has("disagree");
	d.n = 0;
	bb_field(&d, "x", 1);
	expect_rc(parse_one("ima ng", &d, &l), AERR_PARSE);
	detail_has("template name has byte 0x20");
	assert_null(l);
}

/* ---- limits and API contract ---- */

static void test_limits(void **state)
{
	struct ima_list *l = NULL;
	struct bb e = { .n = 0 };
	uint8_t *big;
	size_t n;

	(void)state;
	/* PCR index */
	bb_u32(&e, 24);
	bb_put(&e, (uint8_t[20]){ 1 }, 20);
	bb_field(&e, "ima-ng", 6);
	bb_u32(&e, 0);
	expect_rc(ima_parse(e.b, e.n, 0, &l), AERR_PARSE);
	detail_has("PCR index 24");
	/* template name length */
	e.n = 0;
	bb_u32(&e, 10);
	bb_put(&e, (uint8_t[20]){ 1 }, 20);
	bb_u32(&e, IMA_MAX_TEMPLATE_NAME + 1);
	memset(e.b + e.n, 'a', 64);
	e.n += 64;
	expect_rc(ima_parse(e.b, e.n, 0, &l), AERR_PARSE);
	detail_has("template name length 33");
	/* "ima" file name longer than the kernel writes */
	e.n = 0;
	bb_u32(&e, 10);
	bb_put(&e, (uint8_t[20]){ 1 }, 20);
	bb_field(&e, "ima", 3);
	bb_put(&e, (uint8_t[20]){ 0 }, 20);
	bb_u32(&e, IMA_EVENT_NAME_LEN_MAX + 1);
	memset(e.b + e.n, 'f', 300);
	e.n += 300;
	expect_rc(ima_parse(e.b, e.n, 0, &l), AERR_PARSE);
	detail_has("256 exceeds 255");
	/* one entry's template data */
	n = 28 + 6 + 4 + IMA_MAX_TEMPLATE_DATA + 1;
	big = calloc(1, n);
	assert_non_null(big);
	big[0] = 10;
	big[4] = 1;
	big[24] = 6;
	memcpy(big + 28, "ima-ng", 6);
	memcpy(big + 34, &(uint32_t){ IMA_MAX_TEMPLATE_DATA + 1 }, 4); /* little endian host */
	expect_rc(ima_parse(big, n, 0, &l), AERR_TOO_LARGE);
	detail_has("exceeds the limit");
	free(big);
	/* whole chunk: rejected before any byte is read */
	expect_rc(ima_parse(e.b, (size_t)IMA_MAX_LIST_SIZE + 1, 0, &l), AERR_TOO_LARGE);
	/* entries per chunk: IMA_MAX_ENTRIES + 1 minimal (unknown template) entries */
	n = (size_t)(IMA_MAX_ENTRIES + 1) * 33;
	big = calloc(1, n);
	assert_non_null(big);
	for (size_t off = 0; off < n; off += 33) {
		big[off] = 10;
		big[off + 4] = 1;
		big[off + 24] = 1;
		big[off + 28] = 'x';
	}
	expect_rc(ima_parse(big, n, 0, &l), AERR_TOO_LARGE);
	detail_has("more than 1000000 entries");
	free(big);
	assert_null(l);
	/* arguments */
	expect_rc(ima_parse(NULL, 1, 0, &l), AERR_INVALID_ARG);
	expect_rc(ima_parse(NULL, 0, 0, NULL), AERR_INVALID_ARG);
	expect_rc(ima_parse(NULL, 0, 0, &l), 0);
	assert_int_equal(l->nentries, 0);
	ima_list_free(l);
	ima_list_free(NULL);
}

static void test_replay_api(void **state)
{
	static const TPM2_ALG_ID dup[] = { TPM2_ALG_SHA256, TPM2_ALG_SHA256 };
	static const TPM2_ALG_ID odd[] = { 0x1234 };
	static const TPM2_ALG_ID five[] = { 4, 11, 12, 13, 18 };
	struct ima_replay_state st, before;
	struct ima_list *l = NULL;
	uint8_t v[32] = { 0 };
	size_t len;
	uint8_t *buf = load("tss-sml-ima-sha1.bin", &len);

	(void)state;
	expect_rc(ima_replay_init(&st, banks4, 0, 0), AERR_INVALID_ARG);
	expect_rc(ima_replay_init(&st, five, 5, 0), AERR_INVALID_ARG);
	expect_rc(ima_replay_init(&st, dup, 2, 0), AERR_INVALID_ARG);
	expect_rc(ima_replay_init(&st, banks4, 1, 7), AERR_INVALID_ARG);
	expect_rc(ima_replay_init(&st, odd, 1, 0), AERR_UNSUPPORTED);
	expect_rc(ima_replay(&st, buf, 0, NULL), AERR_STATE); /* failed init leaves no usable state */

	expect_rc(ima_replay_init(&st, banks4, 2, IMA_REPLAY_PER_BANK), 0);
	/* Reset values: zeros; 17-22 all ones as after TPM2_Startup. */
	assert_memory_equal(ima_replay_value(&st, TPM2_ALG_SHA256, 10), v, 32);
	memset(v, 0xff, sizeof(v));
	assert_memory_equal(ima_replay_value(&st, TPM2_ALG_SHA256, 17), v, 32);
	assert_null(ima_replay_value(&st, TPM2_ALG_SHA384, 10));
	assert_null(ima_replay_value(&st, TPM2_ALG_SHA1, 24));
	expect_rc(ima_replay_check(&st, TPM2_ALG_SHA384, 10, v, 48), AERR_NOT_FOUND);
	expect_rc(ima_replay_check(&st, TPM2_ALG_SHA256, 10, v, 20), AERR_INVALID_ARG);
	expect_rc(ima_replay_check(&st, TPM2_ALG_SHA256, 17, v, 32), 0);

	/* Entries must come in order. */
	expect_rc(ima_parse(buf, 916, 0, &l), 0);
	before = st;
	expect_rc(ima_replay_entry(&st, l, &l->entries[1]), AERR_STATE);
	detail_has("entry 1 given, the next to replay is 0");
	assert_memory_equal(&st, &before, sizeof(st));
	expect_rc(ima_replay_entry(&st, l, &l->entries[0]), 0);
	expect_rc(ima_replay_entry(&st, l, &l->entries[0]), AERR_STATE);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.bytes, l->entries[1].offset);
	ima_list_free(l);
	free(buf);
}

/* The attestor's "entries after N": offsets agree with the full parser's,
 * a partial last entry is left out, a list shorter than N says so. */
static void test_list_offsets(void **state)
{
	size_t len, at, end;
	uint8_t *buf = load("acs-imasig.bin", &len);
	struct ima_list *list = NULL;
	static const uint64_t skips[] = { 0, 1, 500, 1082, 1083 };

	(void)state;
	assert_int_equal(ima_parse(buf, len, 0, &list), 0);
	assert_int_equal(list->nentries, 1083);
	for (size_t i = 0; i < ARRAY_LEN(skips); i++) {
		assert_int_equal(ima_list_offsets(buf, len, skips[i], &at, &end), 0);
		assert_int_equal(end, len);
		assert_int_equal(at, skips[i] < list->nentries ? list->entries[skips[i]].offset : len);
	}
	assert_int_equal(ima_list_offsets(buf, len, 1084, &at, &end), AERR_NOT_FOUND);
	/* Cut inside entry 700: only whole entries, the cut one not. */
	assert_int_equal(ima_list_offsets(buf, list->entries[700].offset + 9, 600, &at, &end), 0);
	assert_int_equal(at, list->entries[600].offset);
	assert_int_equal(end, list->entries[700].offset);
	assert_int_equal(ima_list_offsets(buf, 0, 0, &at, &end), 0);
	assert_int_equal(at, 0);
	assert_int_equal(end, 0);
	ima_list_free(list);
	free(buf);
}

/* crypto_hash / crypto_extend, the replay's hash path, give crypto_digest's
 * (EVP's) results for every length around the block sizes, and refuse what
 * crypto_digest refuses. */
static void test_fast_hash(void **state)
{
	static const TPM2_ALG_ID algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512,
					    TPM2_ALG_SM3_256 };
	uint8_t in[300], a[CRYPTO_MAX_DIGEST], b[CRYPTO_MAX_DIGEST], pcr[CRYPTO_MAX_DIGEST], cat[2 * CRYPTO_MAX_DIGEST];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	for (size_t k = 0; k < ARRAY_LEN(algs); k++) {
		size_t size = crypto_digest_size(algs[k]);

		if (!crypto_md(algs[k]))
			continue; /* an OpenSSL without SM3 */
		for (size_t len = 0; len <= sizeof(in); len++) {
			assert_int_equal(crypto_digest(algs[k], in, len, a), 0);
			assert_int_equal(crypto_hash(algs[k], in, len, b), 0);
			assert_memory_equal(a, b, size);
		}
		memcpy(pcr, in, size);
		memcpy(cat, in, size);
		memcpy(cat + size, in + 100, size);
		assert_int_equal(crypto_extend(algs[k], pcr, in + 100), 0);
		assert_int_equal(crypto_digest(algs[k], cat, 2 * size, a), 0);
		assert_memory_equal(pcr, a, size);
	}
	assert_int_equal(crypto_hash(TPM2_ALG_NULL, in, 1, a), AERR_UNSUPPORTED);
	assert_int_equal(crypto_extend(TPM2_ALG_NULL, pcr, in), AERR_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_hash),
		cmocka_unit_test(test_binary_lists),
		cmocka_unit_test(test_list_offsets),
		cmocka_unit_test(test_violation_twins),
		cmocka_unit_test(test_acs_tampered),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_replay_to_quote),
		cmocka_unit_test(test_ascii_lists),
		cmocka_unit_test(test_ascii_tampered),
		cmocka_unit_test(test_ascii_from_binary),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_replay_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
