//! The node's TOML configuration: schema, loading (file + `SWITCHBACK__…` env), validation.
//!
//! - [`load`] reads one config file plus `SWITCHBACK__SECTION__KEY` overrides into [`Config`],
//!   reporting every problem as `file:line: key: problem` ([`ConfigErrors`]).
//! - [`locate()`] maps a dotted key to its line in a TOML text (also used for probes files).
//!
//! A leaf: it imports nothing of the crate but `model`. Checking the files a config refers
//! to (probes, zones) is `crate::check`'s job, which builds on the `pub(crate)` helpers here.

mod alert;
mod audit;
mod ctx;
mod error;
mod etcd;
mod load;
pub mod locate;
pub mod presets;
mod raw;
mod schema;
mod table;
mod validate;
mod validate_alert;
mod validate_policy;
mod validate_service;
mod values;
mod vip;

pub use audit::AuditSection;
pub(crate) use ctx::Ctx;
pub(crate) use ctx::join;
pub use error::{ConfigError, ConfigErrors, Origin};
pub use load::load;
#[cfg(test)]
pub(crate) use load::load_text;
pub(crate) use load::process_env;
pub use locate::{Locator, locate};
pub use schema::*;
pub(crate) use values::in_zone;
pub use vip::{DEFAULT_PROTOCOL, MAIN_TABLE, RouteSection, Vip, VipAddress, VipRoute};

#[cfg(test)]
pub(crate) mod tests;
