# The algorithms. components/ is one library of the learners and controllers that several programs
# share (the SAC learner, the ARS trainer, the probabilistic ensemble, the DMD-MPC planner and the
# controller on it); each other folder holds one program and its presets.
noinst_LIBRARIES += algorithms/components/libcomponents.a
algorithms_components_libcomponents_a_SOURCES = \
	algorithms/components/sac_agent.c algorithms/components/sac_agent.h \
	algorithms/components/sac_params.h algorithms/components/sac_policy.c \
	algorithms/components/sac_policy.h algorithms/components/policy_gaussian.c \
	algorithms/components/policy_pmoe.c \
	algorithms/components/ars_core.c algorithms/components/ars_core.h \
	algorithms/components/ensemble.c algorithms/components/ensemble.h \
	algorithms/components/ensemble_model.c \
	algorithms/components/model_weights.c algorithms/components/model_weights.h \
	algorithms/components/tom_dual.c algorithms/components/tom_dual.h \
	algorithms/components/planner.c algorithms/components/planner.h \
	algorithms/components/mpc.c algorithms/components/mpc.h \
	algorithms/components/tom_disc.c algorithms/components/tom_disc.h \
	algorithms/components/tabular.c algorithms/components/tabular.h \
	algorithms/components/pmd_core.c algorithms/components/pmd_core.h
AM_CPPFLAGS += -I$(top_srcdir)/algorithms/components
COMP_LIBS = algorithms/components/libcomponents.a $(ENV_LIBS)

# the programs: each is one file, linked with the components
bin_PROGRAMS += algorithms/sac/sac algorithms/ars/ars algorithms/dmd_mpc/dmd_mpc \
	algorithms/demorl/demorl algorithms/demo_layer/demo_layer algorithms/mbpo/mbpo \
	algorithms/pmd/pmd
algorithms_sac_sac_SOURCES = algorithms/sac/sac.c
algorithms_sac_sac_LDADD = $(COMP_LIBS)
algorithms_ars_ars_SOURCES = algorithms/ars/ars.c
algorithms_ars_ars_LDADD = $(COMP_LIBS)
algorithms_dmd_mpc_dmd_mpc_SOURCES = algorithms/dmd_mpc/dmd_mpc.c
algorithms_dmd_mpc_dmd_mpc_LDADD = $(COMP_LIBS)
algorithms_demorl_demorl_SOURCES = algorithms/demorl/demorl.c
algorithms_demorl_demorl_LDADD = $(COMP_LIBS)
algorithms_demo_layer_demo_layer_SOURCES = algorithms/demo_layer/demo_layer.c
algorithms_demo_layer_demo_layer_LDADD = $(COMP_LIBS)
algorithms_mbpo_mbpo_SOURCES = algorithms/mbpo/mbpo.c
algorithms_mbpo_mbpo_LDADD = $(COMP_LIBS)
algorithms_pmd_pmd_SOURCES = algorithms/pmd/pmd.c
algorithms_pmd_pmd_LDADD = $(COMP_LIBS)

# DeMoRL's presets (algorithms/demorl/*.ini): code.ini (the authors' released code), paper.ini
demorldir = $(pkgdatadir)/demorl
dist_demorl_DATA = algorithms/demorl/code.ini algorithms/demorl/paper.ini
