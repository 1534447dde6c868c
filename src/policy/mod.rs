//! Policy: the per-service decision state machine (hold-down, modes, gates, failback). Pure; time is a parameter.
