# acceleration-mpc: the closed-loop return of DMD-MPC and its optimistic variants, drawn as the
# ablations are (ablations.gp; the same data, the base label dmd first).
load gpdir . '/ablations.gp'
