"""Exact ReLU -> time-to-first-spike mapping (Stanojevic 2022-2023): ``relu`` (the source network),
``mapping``, ``spec`` (the spiking network every simulator reads), ``exact`` (closed-form spike times),
``reference`` (the Brian2 event-level simulation), ``experiment`` (comparisons)."""
