//! Placeholder: this crate's work is tracked by its own issue (see docs/architecture.md).
