//! Store: committed decisions, operator state and the audit log (embedded: local disk).
