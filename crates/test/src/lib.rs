//! Test harness shared by pare's integration tests.
