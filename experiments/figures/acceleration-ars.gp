# acceleration-ars: learning curves of ARS and its optimistic variants, one panel per task, drawn
# as the ARS figure is (ars.gp; the same data).
load gpdir . '/ars.gp'
