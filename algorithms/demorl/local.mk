# demorl: DeMoRL, the program wiring sac_agent to the DMD-MPC controller on the ensemble; its two
# presets are config files (code.ini: the authors' released code; paper.ini: the papers' method).
bin_PROGRAMS += %D%/demorl
%C%_demorl_SOURCES = %D%/demorl.c
%C%_demorl_LDADD = algorithms/dmd_mpc/libdmd.a algorithms/sac/libsac.a $(ENV_LIBS)
demorldir = $(pkgdatadir)/demorl
dist_demorl_DATA = %D%/code.ini %D%/paper.ini
