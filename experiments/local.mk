# experiments: the sweeps behind the figures (experiments/README.md).
#   make experiments [PROFILE=smoke|quick|paper] [RESULTS=DIR] [JOBS=N] [RECIPES="main ars"]
# expands the recipes (default: all) for PROFILE (default quick) into RESULTS (default
# results/PROFILE, under the build directory) with this build's programs, checks every command
# with --print-config, runs RESULTS/runs.mk JOBS runs at a time (default: the cores; finished runs
# are skipped, killed ones resume) and writes every figure's summary (analysis/aggregate:
# RESULTS/FIGURE/summary/{curves,final}.csv final.md final.tex), its figure (experiments/plot with
# configure's gnuplot: RESULTS/FIGURE/FIGURE.png and .pdf) and RESULTS/figures.md, then lists them.
PROFILE ?= quick
RESULTS ?= results/$(PROFILE)
JOBS =
RECIPES =
EXPERIMENT_RECIPES = %D%/recipes/main.recipe %D%/recipes/planner.recipe \
	%D%/recipes/layer.recipe %D%/recipes/ablations.recipe %D%/recipes/ars.recipe \
	%D%/recipes/compute.recipe %D%/recipes/pmoe.recipe %D%/recipes/tom.recipe \
	%D%/recipes/acceleration.recipe %D%/recipes/acceleration-ars.recipe \
	%D%/recipes/acceleration-mpc.recipe %D%/recipes/acceleration-sac.recipe
EXPERIMENT_FIGURES = %D%/figures/common.gp %D%/figures/main.gp %D%/figures/planner.gp \
	%D%/figures/layer.gp %D%/figures/ablations.gp %D%/figures/ars.gp %D%/figures/compute.gp \
	%D%/figures/pmoe.gp %D%/figures/tom.gp %D%/figures/tom-model.gp \
	%D%/figures/acceleration.gp %D%/figures/acceleration-ars.gp %D%/figures/acceleration-mpc.gp \
	%D%/figures/acceleration-sac.gp
EXTRA_DIST += %D%/README.md %D%/reference.txt %D%/thresholds.txt %D%/expand %D%/run-one %D%/run-parallel %D%/slurm.sbatch %D%/plot \
	$(EXPERIMENT_RECIPES) $(EXPERIMENT_FIGURES)
.PHONY: experiments

experiments: algorithms/sac/sac$(EXEEXT) algorithms/ars/ars$(EXEEXT) \
		algorithms/dmd_mpc/dmd_mpc$(EXEEXT) algorithms/demorl/demorl$(EXEEXT) \
		algorithms/demo_layer/demo_layer$(EXEEXT) algorithms/mbpo/mbpo$(EXEEXT) \
		algorithms/pmd/pmd$(EXEEXT) analysis/aggregate$(EXEEXT)
	$(SHELL) $(srcdir)/%D%/expand --check --bin '$(abs_top_builddir)' --src '$(abs_top_srcdir)' \
	  --gnuplot '$(GNUPLOT)' '$(PROFILE)' '$(RESULTS)' $(RECIPES)
	@jobs='$(JOBS)'; [ -n "$$jobs" ] || jobs=`nproc 2>/dev/null || echo 2`; \
	echo "$(MAKE) -f $(RESULTS)/runs.mk -j$$jobs -k all"; \
	$(MAKE) -f '$(RESULTS)/runs.mk' -j$$jobs -k all
	@echo "experiments: profile $(PROFILE) done; summaries in $(RESULTS)/*/summary, figures:"; \
	for fig in `cat '$(RESULTS)/figures.txt'`; do \
	  for f in '$(RESULTS)'/$$fig/$$fig.png '$(RESULTS)'/$$fig/$$fig.pdf; do \
	    if [ -f "$$f" ]; then echo "  $$f"; fi; \
	  done; \
	done; \
	if [ -f '$(RESULTS)/figures.md' ]; then echo "  $(RESULTS)/figures.md (the index)"; fi
