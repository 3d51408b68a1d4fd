# libenvs: the environment library (everything MuJoCo), its models, and the mbenv tool
ENV_TASKS = half_cheetah hopper walker2d ant humanoid swimmer reacher inverted_pendulum \
	inverted_double_pendulum cartpole quadruped

noinst_LIBRARIES += %D%/libenvs.a
%C%_libenvs_a_SOURCES = %D%/env.c %D%/env.h %D%/task.h %D%/registry.c %D%/episodes.c %D%/episodes.h \
	%D%/tasks/half_cheetah.c %D%/tasks/hopper.c %D%/tasks/walker2d.c %D%/tasks/ant.c \
	%D%/tasks/humanoid.c %D%/tasks/swimmer.c %D%/tasks/reacher.c \
	%D%/tasks/inverted_pendulum.c %D%/tasks/inverted_double_pendulum.c \
	%D%/tasks/cartpole.c %D%/tasks/quadruped.c %D%/tasks/quadruped.h
# models are found in $MIRRORBENCH_MODELS, then the source tree, then the installed copy
%C%_libenvs_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/envs \
	-DMB_SRC_MODELS='"$(abs_top_srcdir)/envs/models"' -DMB_DATA_MODELS='"$(pkgdatadir)/models"'

modelsdir = $(pkgdatadir)/models
dist_models_DATA = $(ENV_TASKS:%=%D%/models/%.xml)

# programs that step environments link these
ENV_LIBS = %D%/libenvs.a $(MIRROR_LIBS) $(MUJOCO_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/envs

bin_PROGRAMS += %D%/mbenv
%C%_mbenv_SOURCES = %D%/mbenv.c
%C%_mbenv_LDADD = $(ENV_LIBS)
