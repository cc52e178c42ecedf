//! OCI distribution client (owned by the registry work).
