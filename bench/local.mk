# `make bench`: speed as ratios to limits measured in the same run (not part of make check)
EXTRA_PROGRAMS += %D%/bench_nn %D%/bench_env %D%/bench_sac %D%/bench_planner
%C%_bench_nn_SOURCES = %D%/bench_nn.c %D%/peak.h
%C%_bench_nn_LDADD = $(MIRROR_LIBS)
%C%_bench_env_SOURCES = %D%/bench_env.c
%C%_bench_env_LDADD = $(ENV_LIBS)
%C%_bench_sac_SOURCES = %D%/bench_sac.c %D%/peak.h
%C%_bench_sac_LDADD = algorithms/sac/libsac.a $(ENV_LIBS)
%C%_bench_planner_SOURCES = %D%/bench_planner.c %D%/peak.h
%C%_bench_planner_LDADD = algorithms/dmd_mpc/libdmd.a $(ENV_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)

bench: %D%/bench_nn %D%/bench_env %D%/bench_sac %D%/bench_planner
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_nn
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_sac
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_planner
	./%D%/bench_env
