// dist: diagonal Gaussian and tanh-squashed Gaussian policies, reparameterised.
//
// Shapes: B rows, A action dimensions; mu, log_std, eps, u, a are (B, A); logp is (B).
// A sample is u = mu + exp(log_std) * eps with eps ~ N(0, I) supplied by the caller (so every draw
// comes from the caller's rng stream); the squashed action is a = tanh(u).
#ifndef MB_DIST_H
#define MB_DIST_H

// u = mu + exp(log_std) * eps.
void dist_gauss_sample(float *u, const float *mu, const float *log_std, const float *eps, int B,
                       int A);

// logp[b] = sum_j log N(x_bj; mu_bj, exp(log_std_bj)^2).
void dist_gauss_logprob(float *logp, const float *x, const float *mu, const float *log_std, int B,
                        int A);

// Gradients of L(logp) given dlogp = dL/dlogp (B): writes dx, dmu, dlog_std (each may be NULL).
void dist_gauss_logprob_backward(float *dx, float *dmu, float *dlog_std, const float *dlogp,
                                 const float *x, const float *mu, const float *log_std, int B,
                                 int A);

// Entropy per row: sum_j (log_std_bj + 0.5 log(2 pi e)).
void dist_gauss_entropy(float *ent, const float *log_std, int B, int A);

// Tanh-squashed Gaussian: a = tanh(u), logp = log N(u) - sum_j log(1 - tanh(u_j)^2), with the
// correction computed stably as 2 (log 2 - u - softplus(-2u)). u may be NULL if not wanted.
void dist_tanh_gauss_sample(float *a, float *u, float *logp, const float *mu, const float *log_std,
                            const float *eps, int B, int A);

// Reparameterised gradients of L(a, logp) given da = dL/da (B, A) and dlogp = dL/dlogp (B),
// through a = tanh(mu + exp(log_std) eps): writes dmu and dlog_std (B, A).
void dist_tanh_gauss_backward(float *dmu, float *dlog_std, const float *da, const float *dlogp,
                              const float *mu, const float *log_std, const float *eps, int B,
                              int A);

// log(1 - tanh(u)^2), computed stably as 2 (log 2 - u - softplus(-2u)).
double dist_log_dtanh(double u);

// Deterministic action tanh(mu).
void dist_tanh_mean(float *a, const float *mu, int B, int A);

#endif
