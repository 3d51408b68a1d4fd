# planner: DMD-MPC's final scores against the number of samples, one panel per utility (and
# task), one line per step size gamma: the IQM over seeds with its 95% interval as error bars.
# Data (experiments/plot): table (summary/planner.csv: task,gamma,utility,samples,seeds,iqm,
# iqm_lo,iqm_hi), panels ('TASK:UTILITY ...'), ptitleI, gammas, samples.
W = 7.0
H = 2.8
load gpdir . '/common.gp'

n = words(panels)
cols = mb_cols(n, 4)
rows = mb_rows(n, 4)
G = words(gammas)
set multiplot
set logscale x
# the samples present, with some room either side
set xrange [word(samples, 1) / 1.4:word(samples, words(samples)) * 1.4]
set xtics ()
do for [k = 1:words(samples)] { set xtics add (word(samples, k) real(word(samples, k))) }
set xlabel 'samples N'
# one y range for every panel, so that panels compare
stats table skip 1 using 7 nooutput
ylo = STATS_min
stats table skip 1 using 8 nooutput
yhi = STATS_max
ypad = yhi > ylo ? 0.05 * (yhi - ylo) : 1
set yrange [ylo - ypad:yhi + ypad]
unset key
# the step sizes side by side: each a little left or right of N
shift(g) = 1 + 0.06 * (mb_index(gammas, g) - (G + 1) / 2.0)
do for [i = 1:n] {
  p = word(panels, i)
  t = p[1:strstrt(p, ':') - 1]
  u = p[strstrt(p, ':') + 1:]
  eval mb_panel(i, rows, cols)
  if ((i - 1) % cols == 0) { set ylabel 'final return (IQM)' } else { unset ylabel }
  ptext = value(sprintf('ptitle%d', i))
  set title ptext
  plot for [g in gammas] table skip 1 \
         using (strcol(1) eq t && strcol(3) eq u && strcol(2) eq g ? $4 * shift(g) : NaN):6:7:8 \
         with yerrorlines lc mb_index(gammas, g) pt 7 ps 0.5
}
eval mb_key
plot for [g in gammas] NaN with linespoints lc mb_index(gammas, g) pt 7 ps 0.5 title 'gamma ' . g
unset multiplot
