// quadruped: the parts of the Quadruped task (quadruped.c) that its tests check directly.
#ifndef MB_QUADRUPED_H
#define MB_QUADRUPED_H

#include "env.h"

// Forward kinematics of a leg in the hip frame (x forward, z up), nominal link lengths.
void quadruped_fk(double hip, double knee, double *x, double *z);

// Inverse kinematics of a foot target; returns 1 if the target had to be clamped into reach.
int quadruped_ik(double x, double z, double *hip, double *knee);

// The trajectory generator: leg `leg`'s foot target at gait phase `phase` under action act (12).
void quadruped_foot_target(const double *act, double phase, int leg, double *x, double *z);

// One physics step of the PD controller towards joint targets qdes, velocities vdes (8 each);
// returns the step's mechanical power sum |tau qd|.
double quadruped_pd_substep(Env *e, const double *qdes, const double *vdes);

// The reward of one step from its ingredients; terms (5) receives speed, height, posture,
// smoothness and energy.
double quadruped_reward_terms(double target_speed, double speed, double z, double roll,
                              double pitch, const double *act, const double *prev_act,
                              double power, double terms[5]);

// Mean mechanical power of the last environment step (W).
double quadruped_last_power(const Env *e);

#endif
