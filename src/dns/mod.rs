//! DNS enactor: the hickory-server authority answering service names from the committed decision.
pub mod zonefile;
