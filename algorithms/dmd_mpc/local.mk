# dmd_mpc: DMD-MPC. ensemble (the learned model), planner (DMD-MPC, with the simulator model) and
# mpc (a controller: planner + model + act rule) are reusable (DeMoRL and DeMo Layer link them);
# dmd_mpc.c is the program.
noinst_LIBRARIES += %D%/libdmd.a
%C%_libdmd_a_SOURCES = %D%/ensemble.c %D%/ensemble.h %D%/planner.c %D%/planner.h %D%/mpc.c %D%/mpc.h
bin_PROGRAMS += %D%/dmd_mpc
%C%_dmd_mpc_SOURCES = %D%/dmd_mpc.c
%C%_dmd_mpc_LDADD = %D%/libdmd.a $(ENV_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/algorithms/dmd_mpc
