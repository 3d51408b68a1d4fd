# acceleration: the tabular study, one column per MDP: the suboptimality V*(rho) - V^pi(rho)
# (IQM over seeds, 95% interval as a band, log scale over five decades) against outer iterations (top row) and
# against Q evaluations (bottom row), per method.
# Data (experiments/plot): iters, qevals (summary-subopt/ and summary-subopt-q/curves.csv),
# tasks, labels, labelsI.
W = 7.0
H = 4.8
load gpdir . '/common.gp'
mb_top = 1 - 6.1 * mb_line / H
mb_left = 7.0 * mb_line / W
mb_yspace = 5.6 * mb_line / H

n = words(tasks)
set multiplot
set logscale y
set format y '%.0e'
unset key
# the interval's lower end may be 0 (policy iteration at V*): the band starts at 1e-12
lo(c, l, t) = (v = mb_sel(c, l, t), v != v ? v : v > 1e-12 ? v : 1e-12)
do for [row = 1:2] {
  f = row == 1 ? iters : qevals
  do for [i = 1:n] {
    t = word(tasks, i)
    L = value(sprintf('labels%d', i))
    eval mb_panel((row - 1) * n + i, 2, n)
    if (i == 1) { set ylabel 'suboptimality (IQM)' } else { unset ylabel }
    set xlabel (row == 1 ? 'outer iterations' : 'Q evaluations')
    # stats keeps to the ranges set: free them first
    set xrange [*:*]
    set yrange [*:*]
    stats f using (strcol(2) eq t ? $3 : NaN) nooutput
    set xrange [0:STATS_max]
    set xtics mb_tic(STATS_max)
    # five decades under the largest IQM: policy iteration's exact 0 would squash the rest
    stats f using (strcol(2) eq t ? $6 : NaN) nooutput
    set yrange [STATS_max * 1e-5 : STATS_max * 2]
    set title t
    plot for [l in L] f skip 1 using (mb_sel(3, l, t)):(lo(7, l, t)):(lo(8, l, t)) \
           with filledcurves lc mb_index(labels, l), \
         for [l in L] f skip 1 using (mb_sel(3, l, t)):(lo(6, l, t)) with lines lc mb_index(labels, l)
  }
}
eval mb_key
set key at screen 0.5, screen 1 - 2.9 * mb_line / H
plot for [l in labels] NaN with lines lc mb_index(labels, l) title l
unset multiplot
