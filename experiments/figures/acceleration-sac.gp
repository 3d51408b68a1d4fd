# acceleration-sac: learning curves of SAC with its actor on Adam and on Optimistic Adam, one
# panel per task, drawn as the ARS figure is (ars.gp; the same data).
load gpdir . '/ars.gp'
