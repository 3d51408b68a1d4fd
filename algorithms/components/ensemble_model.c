// ensemble_model: the probabilistic ensemble as the planner's model (see ensemble.h).
#include <stdlib.h>
#include <string.h>

#include "ensemble.h"
#include "fail.h"

static int em_replicas(const EnsembleModel *em) { return em->all_members ? em->m->E : em->m->L; }

// room for `rows` rows of observations and actions
static void em_reserve(EnsembleModel *em, int rows) {
  if (rows <= em->cap) return;
  free(em->rows);
  free(em->acts);
  em->rows = xmalloc((size_t)rows * em->m->O, sizeof(float), "ensemble model rows");
  em->acts = xmalloc((size_t)rows * em->m->A, sizeof(float), "ensemble model rows");
  em->cap = rows;
}

static void em_start(void *ctx, int n, int mode) {
  EnsembleModel *em = ctx;
  int O = em->m->O, rows = (mode == 0 ? em_replicas(em) : 1) * n;
  em_reserve(em, rows);
  for (int k = 0; k < rows; k++)
    for (int j = 0; j < O; j++) em->rows[(size_t)k * O + j] = (float)em->start[j];
  em->n = n;
  em->mode = mode;
}

static void em_advance(void *ctx, const float *act, Rng *r, float *rew, float *obs, uint8_t *done) {
  EnsembleModel *em = ctx;
  Ensemble *m = em->m;
  int n = em->n, O = m->O, A = m->A, R = em->mode == 0 ? em_replicas(em) : 1;
  if (em->mode == 0) {
    for (int k = 0; k < R; k++)
      memcpy(em->acts + (size_t)k * n * A, act, (size_t)n * A * sizeof(float));
    ensemble_predict(m, em->rows, em->acts, n, em->all_members, r, obs, rew);
  } else {
    ensemble_predict_random(m, em->rows, act, n, em->all_members, r, obs, rew);
  }
  size_t rows = (size_t)R * n;
  memcpy(em->rows, obs, rows * O * sizeof(float));
  if (!em->task || !env_can_terminate(em->task)) {
    memset(done, 0, rows);
    return;
  }
  for (size_t k = 0; k < rows; k++) {
    for (int j = 0; j < O; j++) em->obs1[j] = obs[k * O + j];
    done[k] = env_is_terminal(em->task, em->obs1) != 0;
  }
}

void ensemble_model_init(EnsembleModel *em, Ensemble *m, const Env *task, int all_members,
                         PlanModel *out) {
  memset(em, 0, sizeof *em);
  em->m = m;
  em->task = task;
  em->all_members = all_members != 0;
  em->start = xcalloc((size_t)m->O, sizeof(double), "ensemble model");
  em->obs1 = xcalloc((size_t)m->O, sizeof(double), "ensemble model");
  *out = (PlanModel){.obs_dim = m->O,
                     .act_dim = m->A,
                     .replicas = em_replicas(em),
                     .stochastic = 1,
                     .ctx = em,
                     .start = em_start,
                     .advance = em_advance};
}

void ensemble_model_free(EnsembleModel *em) {
  free(em->start);
  free(em->rows);
  free(em->acts);
  free(em->obs1);
  memset(em, 0, sizeof *em);
}

void ensemble_model_start(EnsembleModel *em, const double *obs) {
  memcpy(em->start, obs, (size_t)em->m->O * sizeof(double));
}
