# common.gp: the look every figure shares; each FIGURE.gp sets W and H (the figure's size in
# inches) and loads this first.
#
# experiments/plot passes (gnuplot -e): fmt ('png' or 'pdf'), out (the file to write), gpdir
# (this directory), title (the recipe's title), caption (the profile and what it reduces, as
# lines), ncap (their number) and the figure's own data.
#
# The PDF is W x H inches with 6 pt text; the PNG is the same drawing at 150 pixels per inch
# (pngcairo counts a point as a pixel, hence the scales). The font is named rather than left to
# a default: DejaVu Sans (Debian's fonts-dejavu-core, which fontconfig brings in; without it
# fontconfig substitutes another, and the figures differ from machine to machine).
mb_dpi = 150.0
if (fmt eq 'pdf') {
  set terminal pdfcairo size W, H font 'DejaVu Sans,7' fontscale 0.85 linewidth 1 rounded \
    noenhanced
} else {
  set terminal pngcairo size W * mb_dpi, H * mb_dpi font 'DejaVu Sans,7' \
    fontscale 0.85 * mb_dpi / 72 linewidth mb_dpi / 72 rounded noenhanced
}
set output out
set datafile separator ','
set datafile missing ''

# Okabe and Ito's colour-blind safe colours, by series (a label's colour is its position in the
# figure's list of labels, so it is the same in every panel)
set linetype 1 lc rgb '#0072B2' lw 1.2 pt 7 ps 0.5
set linetype 2 lc rgb '#D55E00' lw 1.2 pt 5 ps 0.5
set linetype 3 lc rgb '#009E73' lw 1.2 pt 9 ps 0.6
set linetype 4 lc rgb '#CC79A7' lw 1.2 pt 11 ps 0.6
set linetype 5 lc rgb '#E69F00' lw 1.2 pt 13 ps 0.6
set linetype 6 lc rgb '#56B4E9' lw 1.2 pt 3 ps 0.6
set linetype 7 lc rgb '#000000' lw 1.2 pt 1 ps 0.6
set linetype 8 lc rgb '#999999' lw 1.2 pt 2 ps 0.6
set linetype cycle 8

set border 3 lw 0.8
set tics nomirror out scale 0.6
set grid back lc rgb '#e5e5e5' lw 0.6 dt solid
set key top left Left reverse samplen 2.5 spacing 1.1 nobox
# the bands: the 95% bootstrap interval of the IQM, see-through so that bands can overlap
set style fill transparent solid 0.18 noborder

# In a using spec: column c of the rows of label l (column 1) on task t (column 2), else NaN.
# Every column of a plot is filtered, not only x: autoscaling reads the others (error bars,
# bands) even of rows whose x is NaN.
mb_sel(c, l, t) = strcol(1) eq l && strcol(2) eq t ? column(c) : NaN

# position of word w in the blank-separated list s (0: not there)
mb_index(s, w) = sum [mb_k = 1:words(s)] (word(s, mb_k) eq w ? mb_k : 0)
# a tic step giving about four intervals over [0, r]: 1, 2, 2.5 or 5 times a power of ten
mb_tic(r) = r <= 0 ? 1 : (mb_e = 10.0 ** floor(log10(r / 4.0)), mb_m = r / 4.0 / mb_e, \
  (mb_m <= 1 ? 1 : mb_m <= 2 ? 2 : mb_m <= 2.5 ? 2.5 : mb_m <= 5 ? 5 : 10) * mb_e)

# The layout: rows x cols panels under the title and the figure's key, above the caption, placed
# by their borders (so every panel of a figure has the same size whatever its tic labels). Sizes
# are in text lines of mb_line inches, turned into fractions of the figure.
mb_line = 9.0 / 72
mb_cols(n, maxcols) = n < maxcols ? n : maxcols
mb_rows(n, maxcols) = ceil(n * 1.0 / maxcols)
# room for: left, the tic labels and the ylabel; bottom, the tic labels, the xlabel and the
# caption; top, the title, the key and a panel title; between panels, the tic labels across and
# the tic labels, the xlabel and the next title down (a figure with long tic labels on y sets
# mb_left and mb_xspace after loading this)
mb_left = 6.0 * mb_line / W
mb_right = 1 - 1.5 * mb_line / W
mb_bottom = (4.3 + ncap) * mb_line / H
mb_top = 1 - 4.6 * mb_line / H
mb_xspace = 4.5 * mb_line / W
mb_yspace = 4.2 * mb_line / H
# the borders of panel i (1, 2, ... across then down) of rows x cols
mb_pw(cols) = (mb_right - mb_left - (cols - 1) * mb_xspace) / cols
mb_ph(rows) = (mb_top - mb_bottom - (rows - 1) * mb_yspace) / rows
mb_panel(i, rows, cols) = sprintf('set lmargin at screen %.6f; set rmargin at screen %.6f; ' . \
  'set tmargin at screen %.6f; set bmargin at screen %.6f', \
  mb_left + ((i - 1) % cols) * (mb_pw(cols) + mb_xspace), \
  mb_left + ((i - 1) % cols) * (mb_pw(cols) + mb_xspace) + mb_pw(cols), \
  mb_top - floor((i - 1) / cols) * (mb_ph(rows) + mb_yspace), \
  mb_top - floor((i - 1) / cols) * (mb_ph(rows) + mb_yspace) - mb_ph(rows))
# After the panels, a plot of nothing but the figure's title, caption and key (one row across
# the figure): eval mb_key, then plot the series as NaN with their titles.
mb_key_y = 1 - 2.0 * mb_line / H
mb_key = sprintf('unset title; unset xlabel; unset ylabel; unset border; unset tics; ' . \
  'unset grid; unset arrow; unset logscale; set xrange [0:1]; set yrange [0:1]; ' . \
  'set lmargin at screen 0.01; set rmargin at screen 0.99; ' . \
  'set tmargin at screen %.6f; set bmargin at screen %.6f; ', mb_key_y + 0.01, mb_key_y - 0.01) . \
  sprintf('set key at screen 0.5, screen %.6f center center horizontal maxrows 1 ' . \
  'samplen 3 width 1; ', mb_key_y) . \
  sprintf('set label 98 title at screen 0.5, screen %.6f center front font ",8"; ', \
  1 - 0.9 * mb_line / H) . \
  sprintf('set label 99 caption at screen %.6f, screen %.6f left front font ",6"', \
  0.5 * mb_line / W, (0.3 + 0.9 * ncap) * mb_line / H)
