//! Virtual-IP routes and addresses in the kernel, through rtnetlink, by stage:
//!
//! - [`want`]: the desired state → the routes and addresses this node must hold (pure);
//! - [`diff`]: wanted vs what the kernel has → actions (pure); it only ever touches routes
//!   marked with our route protocol number and reports foreign routes instead of clobbering them;
//! - [`kernel`]: dump, replace (one atomic `NLM_F_REPLACE`, never delete-then-add), delete,
//!   address add/delete and route lookups on one rtnetlink connection;
//! - [`events`]: route/address/link multicast events → a wake-up for the enactor;
//! - [`announce`]: gratuitous ARP / unsolicited neighbour advertisements after an address add;
//! - [`verify`]: after applying, the kernel's answer (route lookup, address present);
//! - [`stats`]: restores, foreign routes, netlink requests, for `/metrics`.
//!
//! The enactor that runs these stages on the `enact` seam is `crate::enact::RouteEnactor`.

pub mod announce;
pub mod diff;
mod error;
pub mod events;
pub mod kernel;
pub mod stats;
pub mod verify;
pub mod want;

pub use error::RouteError;
