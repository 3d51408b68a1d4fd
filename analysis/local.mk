# analysis: the results aggregator. libagg is the reusable, tested part (job lists, eval.csv,
# groups, IQM and bootstrap intervals, the summary files); aggregate.c the program.
noinst_LIBRARIES += %D%/libagg.a
%C%_libagg_a_SOURCES = %D%/agg.c %D%/agg.h
bin_PROGRAMS += %D%/aggregate
%C%_aggregate_SOURCES = %D%/aggregate.c
%C%_aggregate_LDADD = %D%/libagg.a $(MIRROR_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/analysis
