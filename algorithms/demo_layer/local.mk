# demo_layer: the DeMo Layer, the program wiring an ARS linear policy (ars_core, linpolicy) to the
# DMD-MPC controller on the nominal simulator or a learned ensemble.
bin_PROGRAMS += %D%/demo_layer
%C%_demo_layer_SOURCES = %D%/demo_layer.c
%C%_demo_layer_LDADD = algorithms/dmd_mpc/libdmd.a algorithms/ars/libars.a $(ENV_LIBS)
