"""Execution engines beside the reference per-step path (DESIGN.md, "Execution and scale").

``numba_engine`` runs pass 2 of an oblivious linear run (learner, loss and every bound
ingredient) over a whole time chunk in one compiled, fused pass, repetitions split across
cores. It is never a second definition of an algorithm: the reference ``init``/``update``
and :class:`occ.recorder.Recorder` stay the specification, and the tests hold the engine
equal to them (float64, 1e-10 relative) for every learner and domain it accepts.

``scan_engine`` runs a regret-only oblivious linear chunk of a learner that declares a
traceable step (``LearnerFacts.chunked``: the optax adapter) as one jitted ``lax.scan``;
a test holds it equal to the per-step path.
"""
