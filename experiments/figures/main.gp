# main: learning curves, one panel per task: the IQM over seeds of the evaluation return with its
# 95% interval as a band, per label (eval.csv: SAC's actor for demorl), and the same from
# eval_mpc.csv as a dashed "LABEL (MPC)" series when the runs evaluated the planner.
# Data (experiments/plot): curves (summary/curves.csv), tasks, labels, labelsI (the labels of
# task I); mpc (summary-mpc/curves.csv or ''), mpclabels, mpclabelsI.
W = 7.0
H = 4.8
load gpdir . '/common.gp'

n = words(tasks)
cols = mb_cols(n, 2)
rows = mb_rows(n, 2)
# without MPC series the file is curves.csv, iterated over no labels (gnuplot opens a plot's
# file even when its iteration is empty)
mfile = mpc eq '' ? curves : mpc
set multiplot
set format x '%.0s%c'
set xrange [0:*]
unset key
# curves.csv: label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi
do for [i = 1:n] {
  t = word(tasks, i)
  L = value(sprintf('labels%d', i))
  M = mpc eq '' ? '' : value(sprintf('mpclabels%d', i))
  eval mb_panel(i, rows, cols)
  if ((i - 1) % cols == 0) { set ylabel 'evaluation return (IQM)' } else { unset ylabel }
  if (i > n - cols) { set xlabel 'environment steps' } else { unset xlabel }
  stats curves using (strcol(2) eq t ? $3 : NaN) nooutput
  set xtics mb_tic(STATS_max)
  set title t
  plot for [l in L] curves skip 1 using (mb_sel(3, l, t)):(mb_sel(7, l, t)):(mb_sel(8, l, t)) \
         with filledcurves lc mb_index(labels, l), \
       for [l in M] mfile skip 1 using (mb_sel(3, l, t)):(mb_sel(7, l, t)):(mb_sel(8, l, t)) \
         with filledcurves lc mb_index(labels, l), \
       for [l in L] curves skip 1 using (mb_sel(3, l, t)):(mb_sel(6, l, t)) \
         with lines lc mb_index(labels, l), \
       for [l in M] mfile skip 1 using (mb_sel(3, l, t)):(mb_sel(6, l, t)) \
         with lines lc mb_index(labels, l) dt (9, 6)
}
eval mb_key
plot for [l in labels] NaN with lines lc mb_index(labels, l) title l, \
     for [l in (mpc eq '' ? '' : mpclabels)] NaN with lines lc mb_index(labels, l) dt (9, 6) \
       title l . ' (MPC)'
unset multiplot
