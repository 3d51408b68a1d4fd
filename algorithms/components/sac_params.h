// sac_params: the [sac] table, read by the SAC learner (sac_agent.h), its policy heads
// (sac_policy.h) and the programs that drive it (sac, DeMoRL).
#ifndef MB_SAC_PARAMS_H
#define MB_SAC_PARAMS_H

#include <stddef.h>

#include "config.h"

// the names of the policy heads of sac_policy.c's table, "a|b|...", in its order (sac.policy
// stores the index)
const char *sac_policy_names(void);
#define SAC_POLICY_NAMES sac_policy_names()

// The [sac] table. The agent reads the network, optimiser and loss entries; the loop entries
// (buffer_size to log_every) are read by the program that drives it (sac, DeMoRL).
#define SAC_PARAMS(X)                                                                           \
  X(CHOICE, policy, "gaussian", SAC_POLICY_NAMES, "the actor's head (sac_policy.h)")              \
  X(INT, hidden_layers, "2", "[1, 6]", "hidden layers of the actor and of each critic")        \
  X(INT, hidden_size, "256", "[1, 4096]", "units per hidden layer (ReLU)")                     \
  X(REAL, actor_lr, "3e-4", "(0, 1]", "Adam learning rate of the actor")                       \
  X(CHOICE, actor_optimizer, "adam", "adam|oadam", "the actor's optimiser: Adam, or Optimistic Adam (optim.h)") \
  X(REAL, critic_lr, "3e-4", "(0, 1]", "Adam learning rate of the critics")                    \
  X(REAL, alpha_lr, "3e-4", "(0, 1]", "Adam learning rate of log alpha")                       \
  X(REAL, init_alpha, "1", "(0, 1e6]", "initial entropy temperature alpha")                    \
  X(REAL, gamma, "0.99", "[0, 1]", "discount")                                                 \
  X(REAL, tau, "0.005", "[0, 1]", "Polyak rate of the target critics")                         \
  X(REAL, log_std_min, "-20", "[-100, 100]", "lower clamp of the policy's log-std")            \
  X(REAL, log_std_max, "2", "[-100, 100]", "upper clamp of the policy's log-std")              \
  X(INT, experts, "4", "[1, 32]", "pmoe: experts K (1 is the gaussian head)")                   \
  X(REAL, gate_coef, "1", "[0, 1e6]", "pmoe: weight of the gate's loss")                        \
  X(CHOICE, gate_grad, "frequency", "frequency|gumbel|reinforce",                               \
    "pmoe: the gate's gradient: regression onto the best expert, Gumbel-softmax or score")      \
  X(REAL, gumbel_temp, "1", "(0, 100]", "pmoe: temperature of the Gumbel-softmax gate")          \
  X(CHOICE, eval_gate, "argmax", "argmax|sample",                                               \
    "pmoe: evaluation's expert: the gate's most probable, or one drawn from the gate")          \
  X(CHOICE, entropy_logp, "expert", "expert|mixture",                                          \
    "pmoe: log pi of the entropy terms: the drawn expert's own, or the whole mixture's")        \
  X(INT, batch_size, "256", "[1, 65536]", "transitions per update")                            \
  X(INT, buffer_size, "1e6", "[1, 1e9]", "replay capacity in transitions")                     \
  X(INT, random_steps, "5000", "[0, 1e12]", "uniform-random actions first; updates after them") \
  X(INT, update_every, "1", "[1, 1e9]", "environment steps between rounds of updates")         \
  X(INT, gradient_steps, "1", "[1, 1e9]", "updates per round")                                 \
  X(INT, log_every, "1000", "[1, 1e9]", "updates per row of algo.csv (means over them)")
PARAMS_DEFINE(SacParams, sac_params_register, SAC_PARAMS)

// Check the table's cross-field rules (log_std_min < log_std_max). Returns 0 or -1 with err.
int sac_params_check(const SacParams *p, char *err, size_t errsz);

#endif
