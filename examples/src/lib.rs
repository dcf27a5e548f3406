//! Runnable examples of multiproc: see `examples/`.
