# sac: soft actor-critic. sac_agent is the reusable learner (DeMoRL links it); sac.c the program.
noinst_LIBRARIES += %D%/libsac.a
%C%_libsac_a_SOURCES = %D%/sac_agent.c %D%/sac_agent.h
bin_PROGRAMS += %D%/sac
%C%_sac_SOURCES = %D%/sac.c
%C%_sac_LDADD = %D%/libsac.a $(ENV_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/algorithms/sac
