# libmirror: the math + run library (no MuJoCo in here)
noinst_LIBRARIES += %D%/libmirror.a
%C%_libmirror_a_SOURCES = \
	%D%/fail.c %D%/fail.h \
	%D%/rng.c %D%/rng.h %D%/rng_simd.inc \
	%D%/simd.c %D%/simd.h %D%/simd_build.h %D%/simd_lanes.inc \
	%D%/nn.c %D%/nn.h %D%/nn_simd.inc \
	%D%/optim.c %D%/optim.h \
	%D%/dist.c %D%/dist.h \
	%D%/replay.c %D%/replay.h \
	%D%/normalizer.c %D%/normalizer.h \
	%D%/stats.c %D%/stats.h \
	%D%/config.c %D%/config.h \
	%D%/cli.c %D%/cli.h \
	%D%/manifest.c %D%/manifest.h \
	%D%/csvlog.c %D%/csvlog.h \
	%D%/digest.c %D%/digest.h \
	%D%/infile.c %D%/infile.h \
	%D%/checkpoint.c %D%/checkpoint.h \
	%D%/progress.c %D%/progress.h \
	%D%/run.c %D%/run.h \
	%D%/linpolicy.c %D%/linpolicy.h
