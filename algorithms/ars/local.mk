# ars: augmented random search. ars_core is the reusable trainer (DeMo Layer links it); ars.c the
# program.
noinst_LIBRARIES += %D%/libars.a
%C%_libars_a_SOURCES = %D%/ars_core.c %D%/ars_core.h
bin_PROGRAMS += %D%/ars
%C%_ars_SOURCES = %D%/ars.c
%C%_ars_LDADD = %D%/libars.a $(ENV_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/algorithms/ars
