# layer: the DeMo Layer's final scores, one panel per task: per condition (nominal, perturbed) a
# bar with the layer (eval.csv) and one for the policy alone (eval_policy.csv, the same start
# states), each the IQM over seeds with its 95% interval as an error bar.
# Data (experiments/plot): table (summary/layer.csv: task,condition,seeds,layer_iqm,layer_lo,
# layer_hi,policy_iqm,policy_lo,policy_hi), tasks, conds.
W = 7.0
H = 2.8
load gpdir . '/common.gp'

n = words(tasks)
cols = mb_cols(n, 2)
rows = mb_rows(n, 2)
C = words(conds)
set multiplot
set xrange [0.4:C + 0.6]
set xtics () scale 0
do for [k = 1:C] { set xtics add (word(conds, k) k) }
set xlabel 'condition'
set style fill solid 0.75 noborder
set errorbars lc rgb '#000000' lw 1
set grid noxtics
unset key
# with the layer on the left of each condition, the policy alone on the right
x(c, side) = mb_index(conds, c) + side * 0.19
do for [i = 1:n] {
  t = word(tasks, i)
  eval mb_panel(i, rows, cols)
  if ((i - 1) % cols == 0) { set ylabel 'final return (IQM)' } else { unset ylabel }
  set title t
  # bars from zero, or from the lowest interval when returns are negative (stats skips what
  # is outside the current range: none yet)
  set yrange [*:*]
  stats table skip 1 using (strcol(1) eq t ? ($5 < $8 ? $5 : $8) : NaN) nooutput
  ymin = STATS_min < 0 ? STATS_min * 1.1 : 0
  stats table skip 1 using (strcol(1) eq t ? ($6 > $9 ? $6 : $9) : NaN) nooutput
  ymax = STATS_max > 0 ? STATS_max * 1.1 : 1
  set yrange [ymin:ymax]
  plot table skip 1 using (strcol(1) eq t ? x(strcol(2), -1) : NaN):4:5:6:(0.36) \
         with boxerrorbars lc 1, \
       table skip 1 using (strcol(1) eq t ? x(strcol(2), 1) : NaN):7:8:9:(0.36) \
         with boxerrorbars lc 2
}
eval mb_key
plot NaN with boxes lc 1 title 'with the layer', NaN with boxes lc 2 title 'policy alone'
unset multiplot
