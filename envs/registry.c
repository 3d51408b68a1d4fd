// registry: the list of tasks (add a task here and in envs/local.mk).
#include "task.h"

extern const EnvTask task_half_cheetah, task_hopper, task_walker2d, task_ant, task_humanoid,
    task_swimmer, task_reacher, task_inverted_pendulum, task_inverted_double_pendulum,
    task_cartpole_balance, task_cartpole_swingup, task_quadruped;

static const EnvTask *const tasks[] = {
    &task_half_cheetah, &task_hopper, &task_walker2d, &task_ant, &task_humanoid, &task_swimmer,
    &task_reacher, &task_inverted_pendulum, &task_inverted_double_pendulum,
    &task_cartpole_balance, &task_cartpole_swingup, &task_quadruped,
};

int env_task_count(void) { return (int)(sizeof tasks / sizeof tasks[0]); }

const EnvTask *env_task_at(int i) { return i >= 0 && i < env_task_count() ? tasks[i] : NULL; }
