# `make bench`: speed as ratios to limits measured in the same run (not part of make check)
EXTRA_PROGRAMS += %D%/bench_nn %D%/bench_env %D%/bench_sac %D%/bench_planner %D%/bench_fit
%C%_bench_nn_SOURCES = %D%/bench_nn.c %D%/peak.h
%C%_bench_nn_LDADD = $(MIRROR_LIBS)
%C%_bench_env_SOURCES = %D%/bench_env.c
%C%_bench_env_LDADD = $(ENV_LIBS)
%C%_bench_sac_SOURCES = %D%/bench_sac.c %D%/peak.h
%C%_bench_sac_LDADD = algorithms/components/libcomponents.a $(ENV_LIBS)
%C%_bench_planner_SOURCES = %D%/bench_planner.c %D%/peak.h
%C%_bench_planner_LDADD = algorithms/components/libcomponents.a $(ENV_LIBS)
%C%_bench_fit_SOURCES = %D%/bench_fit.c %D%/peak.h
%C%_bench_fit_LDADD = algorithms/components/libcomponents.a $(ENV_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += %D%/planner_torch.py

# the planning call in PyTorch for comparison, when Debian's python3-torch is installed (the
# suite does not need it; its interpreter is Debian's, whatever python3 comes first on PATH)
TORCHPY = /usr/bin/python3

bench: %D%/bench_nn %D%/bench_env %D%/bench_sac %D%/bench_planner %D%/bench_fit
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_nn
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_sac
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_planner
	OPENBLAS_NUM_THREADS=1 ./%D%/bench_fit
	@if $(TORCHPY) -c 'import torch' 2>/dev/null; then \
	  $(TORCHPY) $(srcdir)/%D%/planner_torch.py --members 5 && \
	  $(TORCHPY) $(srcdir)/%D%/planner_torch.py --members 7; \
	else echo "bench: no PyTorch comparison (apt-get install python3-torch to add it)"; fi
	./%D%/bench_env
