// sac_policy: the table of SAC's policy heads (see sac_policy.h).
#include "sac_policy.h"

#include <stdio.h>
#include <string.h>

#include "fail.h"

extern const SacPolicyOps sac_policy_gaussian, sac_policy_pmoe;

// in the order of SAC_POLICY_NAMES: sac.policy is an index into it
const SacPolicyOps *const SAC_POLICIES[] = {&sac_policy_gaussian, &sac_policy_pmoe};
const int SAC_NPOLICIES = (int)(sizeof SAC_POLICIES / sizeof *SAC_POLICIES);

const char *sac_policy_names(void) {
  static char names[256];
  if (!names[0])
    for (int k = 0; k < SAC_NPOLICIES; k++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
               SAC_POLICIES[k]->name);
  return names;
}

static const SacPolicyOps *ops_of(const SacParams *p) {
  return p->policy >= 0 && p->policy < SAC_NPOLICIES ? SAC_POLICIES[p->policy] : NULL;
}

int sac_policy_out_width(const SacParams *p, int A) { return ops_of(p)->out_width(p, A); }

int sac_policy_noise_width(const SacParams *p, int A) { return ops_of(p)->noise_width(p, A); }

int sac_policy_candidates(const SacParams *p) { return ops_of(p)->candidates(p); }

void sac_policy_stat_names(const SacParams *p, char *buf, size_t n) {
  ops_of(p)->stat_names(p, buf, n);
}

int sac_policy_init(SacPolicy *h, const SacParams *p, int A, int rows, char *err, size_t errsz) {
  memset(h, 0, sizeof *h);
  const SacPolicyOps *ops = ops_of(p);
  if (!ops) return fail_msg(err, errsz, "sac.policy: no head number %d", p->policy);
  *h = (SacPolicy){.ops = ops,
                    .A = A,
                    .W = ops->out_width(p, A),
                    .Z = ops->noise_width(p, A),
                    .C = ops->candidates(p),
                    .D = ops->detached(p),
                    .S = ops->nstats(p),
                    .rows = rows};
  if (ops->init(h, p, err, errsz)) {
    memset(h, 0, sizeof *h);
    return -1;
  }
  return 0;
}

void sac_policy_free(SacPolicy *h) {
  if (h->ops) h->ops->free(h);
  memset(h, 0, sizeof *h);
}
