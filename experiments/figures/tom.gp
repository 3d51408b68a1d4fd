# tom: learning curves of MBPO with its model fitted uniformly, with TOM's weights (the
# discriminator's reward or the binary one) or with PMAC's recency decay, and of DeMoRL uniform
# against TOM, one panel per task: the IQM over seeds of the evaluation return with its 95%
# interval as a band, per label. The steps to the baseline's final score are the figure's table
# (summary/tom.md); the model's error is the second picture (tom-model.gp).
# Data (experiments/plot): curves (summary/curves.csv), tasks, labels, labelsI (the labels of
# task I).
W = 7.0
H = 4.8
load gpdir . '/common.gp'
# six labels take two rows of the key (below the title): the panels start a line and a half lower
mb_top = 1 - 6.1 * mb_line / H

n = words(tasks)
cols = mb_cols(n, 2)
rows = mb_rows(n, 2)
set multiplot
set format x '%.0s%c'
set xrange [0:*]
unset key
# curves.csv: label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi
do for [i = 1:n] {
  t = word(tasks, i)
  L = value(sprintf('labels%d', i))
  eval mb_panel(i, rows, cols)
  if ((i - 1) % cols == 0) { set ylabel 'evaluation return (IQM)' } else { unset ylabel }
  if (i > n - cols) { set xlabel 'environment steps' } else { unset xlabel }
  stats curves using (strcol(2) eq t ? $3 : NaN) nooutput
  set xtics mb_tic(STATS_max)
  set title t
  plot for [l in L] curves skip 1 using (mb_sel(3, l, t)):(mb_sel(7, l, t)):(mb_sel(8, l, t)) \
         with filledcurves lc mb_index(labels, l), \
       for [l in L] curves skip 1 using (mb_sel(3, l, t)):(mb_sel(6, l, t)) \
         with lines lc mb_index(labels, l)
}
eval mb_key
set key at screen 0.5, screen 1 - 2.9 * mb_line / H
plot for [l in labels] NaN with lines lc mb_index(labels, l) title l
unset multiplot
