//! Merged filesystem view of an image and safe extraction (owned by the fs work).
