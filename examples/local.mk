# fit: the smallest complete program on the harness (template for new programs)
noinst_PROGRAMS += %D%/fit
%C%_fit_SOURCES = %D%/fit.c
%C%_fit_LDADD = $(MIRROR_LIBS)

# the short training run of the README's first command
demo: %D%/fit
	@rm -rf demo-run
	./%D%/fit --out demo-run --steps 3000 --progress=never
CLEANFILES += -r demo-run
