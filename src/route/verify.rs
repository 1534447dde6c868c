//! After an apply, ask the kernel whether it now does what we wanted.

use super::kernel::Kernel;
use super::want::{WantAddr, WantRoute};
use crate::config::MAIN_TABLE;
use crate::enact::Verification;

/// A route in the main table: the kernel's own lookup of the VIP must pick our next hop (so
/// a more specific or lower-metric route elsewhere shows up); other tables: our route is in it.
pub async fn route(kernel: &Kernel, want: &WantRoute, protocol: u8) -> Verification {
    if want.table == MAIN_TABLE {
        return match kernel.lookup(want.prefix.addr()).await {
            Ok(Some(r)) if r.gateway == Some(want.gateway) => Verification::Verified,
            Ok(Some(r)) => Verification::Failed(format!(
                "lookup of {} goes {}, not via {}",
                want.prefix.addr(),
                r.via(),
                want.gateway
            )),
            Ok(None) => Verification::Failed(format!("no route to {}", want.prefix.addr())),
            Err(e) => Verification::Failed(e.to_string()),
        };
    }
    match kernel.routes().await {
        Ok(rs) => {
            if rs.iter().any(|r| {
                r.prefix == want.prefix
                    && r.table == want.table
                    && r.protocol == protocol
                    && r.gateway == Some(want.gateway)
            }) {
                Verification::Verified
            } else {
                Verification::Failed(format!(
                    "no route {} via {} in table {}",
                    want.prefix, want.gateway, want.table
                ))
            }
        }
        Err(e) => Verification::Failed(e.to_string()),
    }
}

/// An address: present on its interface when held, absent when released.
pub async fn address(kernel: &Kernel, want: &WantAddr, index: u32) -> Verification {
    match kernel.addresses().await {
        Ok(addrs) => {
            let present = addrs
                .iter()
                .any(|a| a.index == index && a.address.addr() == want.address.addr());
            match (want.hold, present) {
                (true, true) | (false, false) => Verification::Verified,
                (true, false) => {
                    Verification::Failed(format!("{} not on {}", want.address, want.interface))
                }
                (false, true) => {
                    Verification::Failed(format!("{} still on {}", want.address, want.interface))
                }
            }
        }
        Err(e) => Verification::Failed(e.to_string()),
    }
}
