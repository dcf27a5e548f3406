//! Integration tests of multiproc live in `tests/`, a file per concept.
