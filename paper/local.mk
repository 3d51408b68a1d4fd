# paper: the reproduction report (paper/paper.tex) with the figures and tables of the last sweep.
#   make paper [PROFILE=quick|smoke|paper] [RESULTS=DIR]  ->  paper/paper.pdf in the build tree
# RESULTS is the same as make experiments' (experiments/local.mk). Needs pdflatex (configure
# finds it; without it the target says what to install and fails).
EXTRA_DIST += %D%/paper.tex %D%/build
CLEANFILES += %D%/paper.pdf %D%/paper.log
.PHONY: paper

paper:
	@$(SHELL) $(srcdir)/%D%/build '$(abs_top_srcdir)' '$(RESULTS)' %D%/paper.pdf '$(PDFLATEX)'
