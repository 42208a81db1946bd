/* The RSA key pool of simtpm.h: distinct RSA-2048 keys from few primes. */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto.h"
#include "simtpm.h"

#define SIMTPM_RSA_BITS 2048
#define SIMTPM_PRIME_BITS (SIMTPM_RSA_BITS / 2)
#define SIMTPM_MAX_THREADS 16

struct simtpm_keys {
	BIGNUM **primes;
	size_t nprimes;
	size_t nkeys;
};

struct simtpm_prime_job {
	struct simtpm_keys *k;
	size_t first, step;
	int r;
};

/* p with gcd(p - 1, 65537) = 1 (65537 is prime), so e = 65537 is invertible. */
static void *simtpm_prime_thread(void *arg)
{
	struct simtpm_prime_job *job = arg;
	BN_CTX *ctx = BN_CTX_new();

	job->r = 0;
	if (!ctx) {
		job->r = err_set(AERR_ALLOC, "BN_CTX");
		return NULL;
	}
	for (size_t i = job->first; i < job->k->nprimes; i += job->step) {
		BIGNUM *p = BN_new();

		do {
			if (!p || !BN_generate_prime_ex2(p, SIMTPM_PRIME_BITS, 0, NULL, NULL, NULL, ctx)) {
				BN_free(p);
				job->r = crypto_ossl_err(AERR_CRYPTO, "prime generation");
				goto out;
			}
		} while (BN_mod_word(p, 65537) == 1);
		job->k->primes[i] = p;
	}
out:
	BN_CTX_free(ctx);
	return NULL;
}

int simtpm_keys_make(size_t n, int threads, struct simtpm_keys **out)
{
	struct simtpm_prime_job jobs[SIMTPM_MAX_THREADS];
	pthread_t tids[SIMTPM_MAX_THREADS];
	struct simtpm_keys *k = NULL;
	size_t p = 2;
	int r = AERR_INTERNAL, started = 0, failed = 0;

	*out = NULL;
	if (n == 0 || threads < 1)
		return err_set(AERR_INVALID_ARG, "simtpm_keys_make: %zu keys on %d threads", n, threads);
	if (threads > SIMTPM_MAX_THREADS)
		threads = SIMTPM_MAX_THREADS;
	while (p * (p - 1) / 2 < n)
		p++;
	if (!(k = calloc(1, sizeof(*k))) || !(k->primes = calloc(p, sizeof(*k->primes)))) {
		r = err_set(AERR_ALLOC, "key pool of %zu primes", p);
		goto out;
	}
	k->nprimes = p;
	k->nkeys = n;
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct simtpm_prime_job){ .k = k, .first = (size_t)t, .step = (size_t)threads };
		if (pthread_create(&tids[t], NULL, simtpm_prime_thread, &jobs[t]) != 0) {
			r = err_set(AERR_INTERNAL, "pthread_create");
			failed = 1;
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		if (jobs[t].r != 0) {
			r = jobs[t].r;
			failed = 1;
		}
	}
	if (failed)
		goto out;
	/* Equal primes would give n = p^2: not an RSA key. Vanishingly unlikely,
	 * but cheap to rule out. */
	for (size_t i = 0; i < p; i++)
		for (size_t j = 0; j < i; j++)
			if (BN_cmp(k->primes[i], k->primes[j]) == 0) {
				r = err_set(AERR_CRYPTO, "the prime search repeated a prime");
				goto out;
			}
	*out = k;
	k = NULL; /* transferred */
	r = 0;
out:
	simtpm_keys_free(k);
	return r;
}

size_t simtpm_keys_primes(const struct simtpm_keys *k)
{
	return k ? k->nprimes : 0;
}

void simtpm_keys_free(struct simtpm_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nprimes; i++)
		BN_clear_free(k->primes[i]);
	free(k->primes);
	free(k);
}

/* The i-th pair (a, b), a < b, in the order (0,1) (0,2) (1,2) (0,3) ... */
static void simtpm_pair(size_t i, size_t *a, size_t *b)
{
	size_t j = 1;

	while (j * (j + 1) / 2 <= i)
		j++;
	*b = j;
	*a = i - j * (j - 1) / 2;
}

int simtpm_keys_get(const struct simtpm_keys *k, size_t i, EVP_PKEY **out)
{
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p1 = NULL, *q1 = NULL, *g = NULL, *l = NULL;
	BIGNUM *dp = NULL, *dq = NULL, *qinv = NULL;
	const BIGNUM *p, *q;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	BN_CTX *ctx = NULL;
	size_t a, b;
	int r = AERR_CRYPTO;

	*out = NULL;
	if (!k || i >= k->nkeys)
		return err_set(AERR_INVALID_ARG, "key %zu of %zu", i, k ? k->nkeys : 0);
	simtpm_pair(i, &a, &b);
	p = k->primes[b];
	q = k->primes[a];
	if (!(ctx = BN_CTX_new()) || !(n = BN_new()) || !(e = BN_new()) || !(p1 = BN_dup(p)) ||
	    !(q1 = BN_dup(q)) || !(g = BN_new()) || !(l = BN_new()) || !(dp = BN_new()) || !(dq = BN_new()) ||
	    !BN_set_word(e, 65537) || !BN_mul(n, p, q, ctx) || !BN_sub_word(p1, 1) || !BN_sub_word(q1, 1) ||
	    !BN_gcd(g, p1, q1, ctx) || !BN_mul(l, p1, q1, ctx) || !BN_div(l, NULL, l, g, ctx) ||
	    !(d = BN_mod_inverse(NULL, e, l, ctx)) || !BN_mod(dp, d, p1, ctx) || !BN_mod(dq, d, q1, ctx) ||
	    !(qinv = BN_mod_inverse(NULL, q, p, ctx))) {
		r = crypto_ossl_err(AERR_CRYPTO, "RSA key from primes");
		goto out;
	}
	if (BN_num_bits(n) != SIMTPM_RSA_BITS) {
		r = err_set(AERR_CRYPTO, "modulus of %d bits", BN_num_bits(n));
		goto out;
	}
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 || EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) <= 0) {
		*out = NULL;
		r = crypto_ossl_err(AERR_CRYPTO, "RSA key from parameters");
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_free(g);
	BN_clear_free(l);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(qinv);
	BN_CTX_free(ctx);
	return r;
}
