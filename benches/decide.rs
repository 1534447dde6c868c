//! Criterion bench placeholder (owned by the policy work).
fn main() {}
