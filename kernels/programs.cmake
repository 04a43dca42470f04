# The device programs: each is built from the kernels/ files listed, in order, with
# constants.h in front of them all. The host names a program RELUCL_PROGRAM_<NAME>; this is
# the only list of programs (cmake/programs.cmake turns it into the host's table).
set(RELUCL_PROGRAMS
  "ACTIVATION vector.cl activation_math.cl activation.cl"
  "DENSE      vector.cl activation_math.cl dense.cl"
  "CONV       vector.cl activation_math.cl conv.cl"
  "POOL       pool.cl"
  "LOSS       loss.cl"
  "OPTIM      vector.cl optim.cl"
  "RANDOM     random.cl"
  "DATA       data.cl"
  "STATS      stats.cl"
  "GEMM       vector.cl activation_math.cl gemm.cl")
