# compute: wall time per label (and task), one panel per quantity: seconds per 1000 environment
# steps of training and the planner's milliseconds per acting step, each the mean over seeds
# with the seeds' range as an error bar (labels without a planner have no planner bar). Wall
# times measure the machine: unlike every other figure, these numbers change from run to run.
# Data (experiments/plot): table (summary/compute.csv: label,task,seeds,s_per_1k_steps,
# s_per_1k_min,s_per_1k_max,plan_ms,plan_ms_min,plan_ms_max), tasks, labels, rows (the rows'
# names in the table's order).
W = 7.0
H = 3.0
load gpdir . '/common.gp'

# one row per line of the table, named by its label (LABEL/TASK when it has several tasks)
multi = words(tasks) > 1
rowname(l, t) = multi ? l . '/' . t : l
R = rows
maxlen = 0
do for [k = 1:words(R)] { maxlen = strlen(word(R, k)) > maxlen ? strlen(word(R, k)) : maxlen }
mb_left = (2.0 + 0.62 * maxlen) * mb_line / W
mb_xspace = (2.5 + 0.62 * maxlen) * mb_line / W
row(l, t) = mb_index(R, rowname(l, t))
set multiplot
set yrange [words(R) + 0.6:0.4]
set ytics () scale 0
do for [k = 1:words(R)] { set ytics add (word(R, k) k) }
set grid noytics
set xrange [0:*]
set style fill solid 0.75 noborder
unset key
# the quantities: title, columns of the mean, min and max
quantity1 = 'training: seconds per 1000 environment steps'
quantity2 = 'planner: milliseconds per acting step'
do for [i = 1:2] {
  c = i == 1 ? 4 : 7
  eval mb_panel(i, 1, 2)
  set title value(sprintf('quantity%d', i))
  # bars from 0 to the mean (boxxyerror: x, y, xlow, xhigh, ylow, yhigh), the range over
  # seeds as an error bar
  plot table skip 1 using (column(c)):(row(strcol(1), strcol(2))):(0):(column(c)): \
         (row(strcol(1), strcol(2)) - 0.3):(row(strcol(1), strcol(2)) + 0.3) \
         with boxxyerror lc i, \
       table skip 1 using (column(c + 1)):(row(strcol(1), strcol(2))): \
         (column(c + 2) - column(c + 1)):(0) with vectors heads size screen 0.006, 90 lc 7 lw 1
}
eval mb_key
plot NaN with boxes lc 8 title 'the mean over seeds; error bars: from the least to the most'
unset multiplot
