# Criterion unit tests (one PASS/FAIL line per test through the TAP driver) and shell tests
UNIT_TESTS = \
	%D%/test_rng %D%/test_stats %D%/test_normalizer %D%/test_replay \
	%D%/test_nn %D%/test_optim %D%/test_dist \
	%D%/test_config %D%/test_cli %D%/test_csvlog %D%/test_checkpoint %D%/test_progress \
	%D%/test_env %D%/test_locomotion %D%/test_control_tasks %D%/test_quadruped \
	%D%/test_episodes %D%/test_linpolicy %D%/test_sac %D%/test_policy %D%/test_pmoe %D%/test_ars \
	%D%/test_planner %D%/test_ensemble %D%/test_model_weights %D%/test_tom_disc %D%/test_pmd %D%/test_aggregate
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS) %D%/fit_determinism.sh %D%/fit_errors.sh %D%/mbenv.sh %D%/sac.sh %D%/ars.sh \
	%D%/dmd_mpc.sh %D%/demorl.sh %D%/demo_layer.sh %D%/aggregate.sh %D%/experiments.sh %D%/paper.sh \
	%D%/golden.sh %D%/faults.sh %D%/fuzz.sh %D%/mbpo.sh %D%/pmd.sh
noinst_HEADERS = %D%/gradcheck.h
EXTRA_DIST += %D%/fit_determinism.sh %D%/fit_errors.sh %D%/mbenv.sh %D%/sac.sh %D%/ars.sh \
	%D%/dmd_mpc.sh %D%/demorl.sh %D%/demo_layer.sh %D%/aggregate.sh %D%/experiments.sh %D%/paper.sh \
	%D%/golden.sh %D%/faults.sh %D%/mbpo.sh %D%/pmd.sh %D%/golden %D%/testlib.sh %D%/lsan.supp \
	%D%/fuzz.sh %D%/fuzz/README.md %D%/fuzz/fuzzlib.h $(FUZZ_TARGET_SRC) \
	%D%/fuzz/seeds/ini/both.ini %D%/fuzz/seeds/ini/crlf.ini %D%/fuzz/seeds/policy/documented.txt \
	%D%/fuzz/seeds/csv/eval.csv %D%/fuzz/seeds/csv/header.csv %D%/fuzz/seeds/csv/crlf.csv

TEST_LDADD = $(MIRROR_LIBS) $(CRITERION_LIBS)
%C%_test_rng_LDADD = $(TEST_LDADD)
%C%_test_stats_LDADD = $(TEST_LDADD)
%C%_test_normalizer_LDADD = $(TEST_LDADD)
%C%_test_replay_LDADD = $(TEST_LDADD)
%C%_test_nn_LDADD = $(TEST_LDADD)
%C%_test_optim_LDADD = $(TEST_LDADD)
%C%_test_dist_LDADD = $(TEST_LDADD)
%C%_test_config_LDADD = $(TEST_LDADD)
%C%_test_cli_LDADD = $(TEST_LDADD)
%C%_test_csvlog_LDADD = $(TEST_LDADD)
%C%_test_checkpoint_LDADD = $(TEST_LDADD)
%C%_test_progress_LDADD = $(TEST_LDADD)
ENV_TEST_LDADD = $(ENV_LIBS) $(CRITERION_LIBS)
%C%_test_env_LDADD = $(ENV_TEST_LDADD)
%C%_test_locomotion_LDADD = $(ENV_TEST_LDADD)
%C%_test_control_tasks_LDADD = $(ENV_TEST_LDADD)
%C%_test_quadruped_LDADD = $(ENV_TEST_LDADD)
%C%_test_episodes_LDADD = $(ENV_TEST_LDADD)
%C%_test_linpolicy_LDADD = $(TEST_LDADD)
%C%_test_sac_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_policy_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_pmoe_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_ars_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_planner_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_ensemble_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_model_weights_LDADD = algorithms/components/libcomponents.a $(ENV_TEST_LDADD)
%C%_test_tom_disc_LDADD = algorithms/components/libcomponents.a $(TEST_LDADD)
%C%_test_pmd_LDADD = algorithms/components/libcomponents.a $(TEST_LDADD)
%C%_test_aggregate_LDADD = analysis/libagg.a $(TEST_LDADD)

# Criterion binaries speak TAP; shell tests use the plain driver (exit 0 pass, 77 skip)
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/build-aux/test-driver
AM_TESTS_ENVIRONMENT = \
	CRITERION_OUTPUTS='tap:-'; export CRITERION_OUTPUTS; \
	OPENBLAS_NUM_THREADS=1; export OPENBLAS_NUM_THREADS; \
	MB_SRCDIR='$(abs_top_srcdir)'; export MB_SRCDIR; \
	MB_BUILDDIR='$(abs_top_builddir)'; export MB_BUILDDIR; \
	MB_PDFLATEX='$(PDFLATEX)'; export MB_PDFLATEX; \
	LC_ALL=C; export LC_ALL; \
	ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1}; export ASAN_OPTIONS; \
	LSAN_OPTIONS=suppressions='$(abs_top_srcdir)/tests/lsan.supp'; export LSAN_OPTIONS; \
	UBSAN_OPTIONS=print_stacktrace=1; export UBSAN_OPTIONS;

# Re-record the pinned results (tests/golden/ one file per platform) after a change meant to alter them; the
# commit that re-records says why.
.PHONY: golden-record
golden-record: all $(check_PROGRAMS)
	OPENBLAS_NUM_THREADS=1 LC_ALL=C MB_SRCDIR='$(abs_top_srcdir)' MB_BUILDDIR='$(abs_top_builddir)' \
	  $(SHELL) $(top_srcdir)/tests/golden.sh --record

# libFuzzer targets of the input readers (tests/fuzz.sh), when configure found a clang for them.
# They are built with that clang, not $(CC): the library sources they need are compiled again,
# instrumented, into their own archive. mkseeds (built with $(CC)) writes the binary seeds.
FUZZ_TARGET_SRC = %D%/fuzz/fuzz_ini.c %D%/fuzz/fuzz_policy.c %D%/fuzz/fuzz_checkpoint.c \
	%D%/fuzz/fuzz_csv.c
FUZZ_LIB_SRC = lib/fail.c lib/digest.c lib/infile.c lib/config.c lib/normalizer.c lib/manifest.c \
	lib/linpolicy.c lib/checkpoint.c lib/csvlog.c lib/stats.c lib/rng.c lib/simd.c analysis/agg.c
FUZZ_LIB_HDR = lib/fail.h lib/digest.h lib/infile.h lib/config.h lib/normalizer.h lib/manifest.h \
	lib/linpolicy.h lib/checkpoint.h lib/csvlog.h lib/stats.h lib/rng.h lib/simd.h analysis/agg.h
FUZZ_FLAGS = -std=c11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer -I$(top_srcdir)/lib \
	-I$(top_srcdir)/analysis -I$(top_srcdir)/tests/fuzz -D_POSIX_C_SOURCE=200809L \
	-DMB_VERSION='"$(PACKAGE_VERSION)"' $(INIH_CFLAGS) $(OPENBLAS_CFLAGS)
clean-local:
	rm -rf %D%/fuzz/obj
FUZZ_TARGETS = %D%/fuzz/fuzz_ini %D%/fuzz/fuzz_policy %D%/fuzz/fuzz_checkpoint %D%/fuzz/fuzz_csv
if FUZZ
check_PROGRAMS += %D%/fuzz/mkseeds
%C%_fuzz_mkseeds_SOURCES = %D%/fuzz/mkseeds.c
%C%_fuzz_mkseeds_LDADD = $(MIRROR_LIBS)
check_SCRIPTS = $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS) %D%/fuzz/libfuzzlib.a

FUZZ_DEPS = %D%/fuzz/fuzzlib.h %D%/fuzz/libfuzzlib.a
FUZZ_LINK = $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,address
FUZZ_LINK_LIBS = %D%/fuzz/libfuzzlib.a $(INIH_LIBS) $(OPENBLAS_LIBS) -lm

%D%/fuzz/libfuzzlib.a: $(FUZZ_LIB_SRC) $(FUZZ_LIB_HDR)
	$(AM_V_GEN)rm -rf %D%/fuzz/obj && $(MKDIR_P) %D%/fuzz/obj && \
	for s in $(FUZZ_LIB_SRC); do \
	  o=%D%/fuzz/obj/`echo $$s | tr / _`; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address -c $(top_srcdir)/$$s \
	    -o $${o%.c}.o || exit 1; \
	done && rm -f $@ && $(AR) cr $@ %D%/fuzz/obj/*.o && $(RANLIB) $@
%D%/fuzz/fuzz_ini: %D%/fuzz/fuzz_ini.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(srcdir)/%D%/fuzz/fuzz_ini.c $(FUZZ_LINK_LIBS) -o $@
%D%/fuzz/fuzz_policy: %D%/fuzz/fuzz_policy.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(srcdir)/%D%/fuzz/fuzz_policy.c $(FUZZ_LINK_LIBS) -o $@
%D%/fuzz/fuzz_checkpoint: %D%/fuzz/fuzz_checkpoint.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(srcdir)/%D%/fuzz/fuzz_checkpoint.c $(FUZZ_LINK_LIBS) -o $@
%D%/fuzz/fuzz_csv: %D%/fuzz/fuzz_csv.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(srcdir)/%D%/fuzz/fuzz_csv.c $(FUZZ_LINK_LIBS) -o $@
endif
