# ablations: DeMoRL's final scores per variant, one panel per task: the IQM over seeds with its
# 95% interval as a horizontal error bar, the baseline (label base, code: drawn first, in its own
# colour, its IQM a dashed line across the panel) above the variants.
# Data (experiments/plot): table (summary/ablations.csv: final.csv's columns, the baseline's
# rows first), base, tasks, labels, labelsI (the labels of task I, the baseline first).
W = 7.0
H = 3.2
load gpdir . '/common.gp'

n = words(tasks)
cols = mb_cols(n, 2)
rows = mb_rows(n, 2)
# the labels are the y tic labels: room for the longest on the left of each panel
maxlen = 0
do for [l in labels] { maxlen = strlen(l) > maxlen ? strlen(l) : maxlen }
mb_left = (2.0 + 0.62 * maxlen) * mb_line / W
mb_xspace = (2.5 + 0.62 * maxlen) * mb_line / W
set multiplot
set xlabel 'final return (IQM)'
set grid noytics
unset key
# final.csv: label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi
do for [i = 1:n] {
  t = word(tasks, i)
  L = value(sprintf('labels%d', i))
  N = words(L)
  eval mb_panel(i, rows, cols)
  set title t
  unset arrow
  set yrange [*:*]
  stats table skip 1 using (strcol(2) eq t ? $8 : NaN) nooutput
  xlo = STATS_min
  stats table skip 1 using (strcol(2) eq t ? $9 : NaN) nooutput
  set xtics mb_tic(STATS_max - xlo)
  if (mb_index(L, base) > 0) {
    stats table skip 1 using (strcol(1) eq base && strcol(2) eq t ? $7 : NaN) nooutput
    set arrow from STATS_max, graph 0 to STATS_max, graph 1 nohead dt (9, 6) lc 2 lw 1 back
  }
  # the first label at the top
  set yrange [N + 0.6:0.4]
  set ytics () scale 0
  do for [k = 1:N] { set ytics add (word(L, k) k) }
  plot for [l in L] table skip 1 using (mb_sel(7, l, t)):(mb_index(L, l)):(mb_sel(8, l, t)): \
         (mb_sel(9, l, t)) with xerrorbars lc (l eq base ? 2 : 1) pt (l eq base ? 5 : 7) \
         ps (l eq base ? 0.7 : 0.6)
}
unset arrow
eval mb_key
plot NaN with points lc 2 pt 5 ps 0.7 title base . ' (baseline)', \
     NaN with points lc 1 pt 7 ps 0.6 title 'variants'
unset multiplot
