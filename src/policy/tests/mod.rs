//! Unit tests of the decision rules, driven through [`super::Engine`] with a small harness.

mod audit;
mod harness;
mod modes;
mod resume;
mod rules;
mod views;
