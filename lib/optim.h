// optim: Adam with optional weight decay, and gradient-norm clipping, over a flat parameter arena.
#ifndef MB_OPTIM_H
#define MB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t n;
  float lr, beta1, beta2, eps;
  float weight_decay;   // 0 for none
  int decoupled;        // 1: AdamW, w -= lr * wd * w; 0: L2, g + wd * w enters the moments
  int64_t t;            // steps taken (bias correction)
  float *m, *v;         // first and second moments (n), same layout as the parameters
} Adam;

// PyTorch defaults: beta1 0.9, beta2 0.999, eps 1e-8, no weight decay. Returns 0 or -1 with err.
int adam_init(Adam *a, size_t n, float lr, char *err, size_t errsz);
void adam_free(Adam *a);

// One bias-corrected step: w -= lr * mhat / (sqrt(vhat) + eps), mhat = m / (1 - beta1^t),
// vhat = v / (1 - beta2^t), as torch.optim.Adam / AdamW.
void adam_step(Adam *a, float *w, const float *g);

// Euclidean norm of g (accumulated in double).
double grad_norm(const float *g, size_t n);

// Rescale g to norm max_norm when its norm exceeds it; returns the norm before clipping.
double grad_clip_norm(float *g, size_t n, double max_norm);

#endif
