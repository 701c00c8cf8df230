"""The cluster model: which chips, and how many systems, for a site's training runs and
services (see :mod:`planner.optimization` for the model).

- :mod:`.model`: the data (:class:`ClusterModel`, :func:`build_model`), no solver object;
- :mod:`.formulation`: the MILP as a :class:`~planner.optimization.solve.LinearProgram`, one
  function per constraint family;
- :mod:`.solving`: one formulation through :func:`~planner.optimization.solve.solve_lp`, its
  point read back;
- :mod:`.algorithms`: lexicographic objectives and the time objective (re-solving);
- :mod:`.diagnosis`: the cluster model as a :class:`~planner.optimization.diagnose.Diagnosable`
  (binding limits);
- :mod:`.relaxations`: the least relaxation of each limit when nothing fits;
- :mod:`.readback`: the :class:`Plan` (reads back, never solves);
- :mod:`.api`: :func:`solve` and :func:`optimize`;
- :mod:`.pyomo_check`: an independent Pyomo build of the same MILP (a cross-check).
"""
