# tom-model: the model's one-step error at every fit, on the newest weights.recent transitions (solid,
# 1000 by default) and on the oldest as many (dashed), one panel per task: the IQM over seeds of the elites' mean squared
# error (fit.csv's mse_new and mse_old, log scale), per label in tom.gp's colours. TOM should
# trade accuracy on the old data for accuracy on the data of the current policy.
# Data (experiments/plot): mnew, mold (summary-model-new/ and summary-model-old/curves.csv),
# mtasks, mlabelsI (the labels of task I), labels (the return figure's, for the colours).
W = 7.0
H = 4.8
load gpdir . '/common.gp'
title = 'The model''s one-step error on the newest and on the oldest transitions, at every fit'
mb_top = 1 - 6.1 * mb_line / H
mb_left = 7.0 * mb_line / W

n = words(mtasks)
cols = mb_cols(n, 2)
rows = mb_rows(n, 2)
set multiplot
set format x '%.0s%c'
set xrange [0:*]
set logscale y
set format y '%.0e'
unset key
do for [i = 1:n] {
  t = word(mtasks, i)
  L = value(sprintf('mlabels%d', i))
  eval mb_panel(i, rows, cols)
  if ((i - 1) % cols == 0) { set ylabel 'model one-step MSE (IQM)' } else { unset ylabel }
  if (i > n - cols) { set xlabel 'environment steps' } else { unset xlabel }
  stats mnew using (strcol(2) eq t ? $3 : NaN) nooutput
  set xtics mb_tic(STATS_max)
  set title t
  plot for [l in L] mnew skip 1 using (mb_sel(3, l, t)):(mb_sel(6, l, t)) \
         with lines lc mb_index(labels, l), \
       for [l in L] mold skip 1 using (mb_sel(3, l, t)):(mb_sel(6, l, t)) \
         with lines lc mb_index(labels, l) dt (6, 4)
}
eval mb_key
set key at screen 0.5, screen 1 - 2.9 * mb_line / H
plot for [l in labels] NaN with lines lc mb_index(labels, l) title l, \
     NaN with lines lc 7 title 'newest', NaN with lines lc 7 dt (6, 4) title 'oldest'
unset multiplot
