//! Tally: the latest valid observation of each probe, staleness, abstention, quorum arithmetic. Pure.
