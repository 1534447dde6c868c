//! One zone as served at one moment: static records from the file plus the service answers.
//!
//! [`ZoneSnap`] is immutable; a switch builds a new one. It implements hickory's
//! [`ZoneHandler`] so the Catalog answers everything the fast path does not (NXDOMAIN,
//! NODATA with the SOA, referrals, wildcards and CNAMEs from the static file).

use std::collections::HashMap;
use std::sync::Arc;

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::TSigResponseContext;
use hickory_server::proto::rr::rdata::HINFO;
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType};
use hickory_server::server::{Request, RequestInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AuthLookup, AxfrPolicy, LookupControlFlow, LookupError, LookupOptions, LookupRecords,
    ZoneHandler, ZoneType,
};

/// The static part of a zone, built once per zone file load and shared by every snapshot.
pub(crate) type Statics = InMemoryZoneHandler<TokioRuntimeProvider>;

/// The A and AAAA record sets of one service name (absent: NODATA).
#[derive(Clone, Debug, Default)]
pub(crate) struct NameSets {
    pub(crate) a: Option<Arc<RecordSet>>,
    pub(crate) aaaa: Option<Arc<RecordSet>>,
}

/// One zone at one serial.
pub(crate) struct ZoneSnap {
    /// The apex (lower case).
    pub(crate) origin: LowerName,
    /// The apex as a name.
    pub(crate) apex: Name,
    /// The serial in `soa`.
    pub(crate) serial: u32,
    /// The SOA record set with the current serial, its TTL clamped to the negative TTL
    /// (the authority section of negative answers).
    pub(crate) soa: Arc<RecordSet>,
    /// The same SOA with its own TTL: SOA queries and transfers.
    pub(crate) soa_answer: Arc<RecordSet>,
    /// Switched service names of this zone.
    pub(crate) services: HashMap<LowerName, NameSets>,
    /// Everything the zone file says, SOA excluded (AXFR order source).
    pub(crate) static_sets: Arc<Vec<Arc<RecordSet>>>,
    /// hickory's in-memory handler over the file's records, for lookups.
    pub(crate) statics: Arc<Statics>,
    /// Recent deltas ending at `serial`, for incremental transfers.
    pub(crate) journal: Arc<[Arc<super::journal::Delta>]>,
}

impl ZoneSnap {
    /// Every record set of the zone except the SOA, for transfers.
    pub(crate) fn transfer_sets(&self) -> impl Iterator<Item = &Arc<RecordSet>> {
        self.static_sets.iter().chain(
            self.services
                .values()
                .flat_map(|s| s.a.iter().chain(s.aaaa.iter())),
        )
    }

    fn minimal_any(&self, name: &LowerName) -> Arc<RecordSet> {
        // RFC 8482 §4.2: answer ANY with one synthesized HINFO instead of every rrset.
        let mut set = RecordSet::with_ttl(Name::from(name), RecordType::HINFO, self.soa.ttl());
        set.insert(
            Record::from_rdata(
                Name::from(name),
                self.soa.ttl(),
                RData::HINFO(HINFO::new("RFC8482".into(), String::new())),
            ),
            self.serial,
        );
        Arc::new(set)
    }
}

fn found(opts: LookupOptions, set: &Arc<RecordSet>) -> LookupControlFlow<AuthLookup> {
    LookupControlFlow::Break(Ok(AuthLookup::answers(
        LookupRecords::new(opts, set.clone()),
        None,
    )))
}

fn name_exists() -> LookupControlFlow<AuthLookup> {
    LookupControlFlow::Break(Err(LookupError::NameExists))
}

#[async_trait::async_trait]
impl ZoneHandler for ZoneSnap {
    fn zone_type(&self) -> ZoneType {
        ZoneType::Primary
    }

    fn axfr_policy(&self) -> AxfrPolicy {
        // Transfers are served by our own TCP path (allow-list, TSIG, multi-message).
        AxfrPolicy::Deny
    }

    fn origin(&self) -> &LowerName {
        &self.origin
    }

    async fn lookup(
        &self,
        name: &LowerName,
        rtype: RecordType,
        request_info: Option<&RequestInfo<'_>>,
        opts: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        if *name == self.origin && matches!(rtype, RecordType::SOA | RecordType::IXFR) {
            // The Catalog asks without request info for the SOA of a negative answer (RFC
            // 2308 TTL); a query for the SOA itself gets the record's own TTL.
            return match request_info {
                Some(_) => found(opts, &self.soa_answer),
                None => found(opts, &self.soa),
            };
        }
        if let Some(sets) = self.services.get(name) {
            let set = match rtype {
                RecordType::A => sets.a.as_ref(),
                RecordType::AAAA => sets.aaaa.as_ref(),
                RecordType::ANY => sets.a.as_ref().or(sets.aaaa.as_ref()),
                _ => None,
            };
            return match set {
                Some(set) => found(opts, set),
                None => name_exists(),
            };
        }
        match rtype {
            RecordType::AXFR | RecordType::IXFR => {
                LookupControlFlow::Break(Err(LookupError::ResponseCode(ResponseCode::Refused)))
            }
            RecordType::ANY => {
                match self
                    .statics
                    .lookup(name, RecordType::ANY, request_info, opts)
                    .await
                {
                    LookupControlFlow::Break(Ok(_)) | LookupControlFlow::Continue(Ok(_)) => {
                        found(opts, &self.minimal_any(name))
                    }
                    other => other,
                }
            }
            _ => self.statics.lookup(name, rtype, request_info, opts).await,
        }
    }

    async fn search(
        &self,
        request: &Request,
        opts: LookupOptions,
    ) -> (LookupControlFlow<AuthLookup>, Option<TSigResponseContext>) {
        let info = match request.request_info() {
            Ok(info) => info,
            Err(e) => return (LookupControlFlow::Break(Err(e)), None),
        };
        let flow = self
            .lookup(
                info.query.name(),
                info.query.query_type(),
                Some(&info),
                opts,
            )
            .await;
        (flow, None)
    }

    async fn nsec_records(
        &self,
        _name: &LowerName,
        _opts: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        LookupControlFlow::Continue(Ok(AuthLookup::default()))
    }
}
