"""Margin propagation (MP): multiplication-free dot products (Kotak, M.Tech thesis, IISc, ch. 2-4).

MP replaces ``w^T x`` by the difference of two thresholds, each the solution ``alpha`` of the "ReLU-sum"
equation ``sum_i [p_i - alpha]_+ = gamma``. The modules:

* :mod:`~brainnets.mp.solvers`: ``alpha`` by sort + prefix sum, by bisection with an exact polish, and by
  Condat's algorithm (numpy reference); differentiable;
* :mod:`~brainnets.mp.approximation`: ``y_MP``, its log-sum-exp parent ``y_LSE``, the error bounds of ch. 3;
* :mod:`~brainnets.mp.layers`: MP linear layers (the thesis' differential ``z`` form and the ``p/q`` form) and
  networks built from them;
* :mod:`~brainnets.mp.porting`: a ReLU MLP trained on MNIST, its weights copied into an MP network (sec. 3.2);
* :mod:`~brainnets.mp.memory`: memory and latency of the two solvers (ch. 4), and the memory arithmetic of
  sec. 2.3;
* :mod:`~brainnets.mp.spiking`: ``alpha`` as the spike time of a non-leaky integrator in Brian2;
* :mod:`~brainnets.mp.experiment`: everything above, written down with figures.

Constants and settings, with their sources: ``brainnets/models/kotak_mp.toml``.
"""
