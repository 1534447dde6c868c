//! Immutable snapshots of everything the authority serves, built off to the side and swapped in.
//!
//! A [`Snapshot`] holds every zone at its serial, a hickory Catalog over them, and the
//! pre-rendered fast-path table. A switch builds a whole new snapshot and stores it with one
//! atomic pointer swap, so a query sees either all of a switch or none of it.

use std::collections::HashMap;
use std::sync::Arc;

use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use super::error::DnsError;
use super::hot::{HotName, HotTable, Rendered, Sections, ZoneNames};
use super::journal::Journal;
use super::view::Answer;
use super::zone::{NameSets, Statics, ZoneSnap};
use super::zonefile::ZoneFile;
use crate::config::Service;

/// What never changes for a zone while the process runs (built from its file at bind).
pub(crate) struct ZoneBase {
    pub(crate) file: ZoneFile,
    pub(crate) origin: LowerName,
    pub(crate) apex: Name,
    /// The SOA TTL clamped to SOA MINIMUM, so negative answers carry the RFC 2308 TTL.
    pub(crate) soa_ttl: u32,
    /// The SOA record's own TTL, for SOA queries and transfers (issue #13).
    pub(crate) soa_own_ttl: u32,
    pub(crate) static_sets: Arc<Vec<Arc<RecordSet>>>,
    pub(crate) statics: Arc<Statics>,
    pub(crate) apex_ns: Vec<Record>,
    /// Names of the zone for the NXDOMAIN fast path (`None`: wildcards, use the Catalog).
    pub(crate) names: Option<Arc<ZoneNames>>,
}

/// A configured service and where its names live.
pub(crate) struct ServiceDef {
    pub(crate) service: Service,
    /// (zone index, name) for each configured name.
    pub(crate) names: Vec<(usize, Name)>,
}

/// Everything served at one moment.
pub(crate) struct Snapshot {
    pub(crate) zones: Vec<Arc<ZoneSnap>>,
    pub(crate) catalog: Catalog,
    /// Service names and apex SOAs of this snapshot.
    pub(crate) hot: HotTable,
    /// Static A/AAAA answers from the zone files, shared by every snapshot.
    pub(crate) static_hot: Arc<HotTable>,
}

impl Snapshot {
    /// The zone whose apex is `name` (lower case), if we serve it.
    pub(crate) fn zone(&self, name: &LowerName) -> Option<&Arc<ZoneSnap>> {
        self.zones.iter().find(|z| &z.origin == name)
    }
}

impl ZoneBase {
    /// Prepares a loaded zone file for serving.
    pub(crate) fn new(file: ZoneFile) -> Result<Self, DnsError> {
        let fail = |problem: String| DnsError::Snapshot {
            zone: file.origin.clone(),
            problem,
        };
        let apex = file.apex.clone();
        let origin = LowerName::new(&apex);
        let soa_ttl = file.soa_ttl.min(file.soa.minimum);
        let statics = Statics::new(
            apex.clone(),
            file.records.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        )
        .map_err(fail)?;
        let static_sets = file
            .records
            .iter()
            .filter(|(k, _)| k.record_type != RecordType::SOA)
            .map(|(_, s)| Arc::new(s.clone()))
            .collect();
        let apex_ns = file
            .records
            .get(&RrKey::new(origin.clone(), RecordType::NS))
            .map(|s| s.records_without_rrsigs().cloned().collect())
            .unwrap_or_default();
        Ok(Self {
            origin,
            apex,
            soa_ttl,
            soa_own_ttl: file.soa_ttl,
            static_sets: Arc::new(static_sets),
            statics: Arc::new(statics),
            apex_ns,
            names: None,
            file,
        })
    }

    /// Records the zone's names (file owners plus service names) for the NXDOMAIN fast path.
    pub(crate) fn set_names(&mut self, services: &[Name]) {
        let owners: Vec<Name> = self
            .file
            .records
            .keys()
            .map(|k| Name::from(k.name()))
            .chain(services.iter().cloned())
            .collect();
        let cuts: Vec<Name> = self
            .file
            .records
            .keys()
            .filter(|k| k.record_type == RecordType::NS && *k.name() != self.origin)
            .map(|k| Name::from(k.name()))
            .collect();
        self.names = ZoneNames::new(&self.apex, owners.iter(), cuts.iter()).map(Arc::new);
    }

    /// The SOA record set at `serial` with `ttl`.
    fn soa(&self, serial: u32, ttl: u32) -> RecordSet {
        let s = &self.file.soa;
        let soa = SOA::new(
            s.mname.clone(),
            s.rname.clone(),
            serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum,
        );
        let mut set = RecordSet::with_ttl(self.apex.clone(), RecordType::SOA, ttl);
        set.insert(
            Record::from_rdata(self.apex.clone(), ttl, RData::SOA(soa)),
            serial,
        );
        set
    }

    /// Whether `name` sits at or below a delegation (an NS set other than the apex's).
    fn delegated(&self, name: &Name) -> bool {
        let mut n = name.clone();
        while n.num_labels() > self.apex.num_labels() {
            let key = RrKey::new(LowerName::new(&n), RecordType::NS);
            if self.file.records.contains_key(&key) {
                return true;
            }
            n = n.base_name();
        }
        false
    }

    /// Pre-renders the static A/AAAA answers of this zone (not delegated, not wildcards).
    pub(crate) fn render_static(&self, table: &mut HotTable) {
        let mut by_name: HashMap<Name, HotName> = HashMap::new();
        for set in self.static_sets.iter() {
            let t = set.record_type();
            if !matches!(t, RecordType::A | RecordType::AAAA)
                || set.name().is_wildcard()
                || self.delegated(set.name())
            {
                continue;
            }
            let s = Sections {
                rcode: ResponseCode::NoError,
                answers: set.records_without_rrsigs().collect(),
                authorities: vec![],
            };
            if let Some(r) = Rendered::render(set.name(), t, &s) {
                by_name.entry(set.name().clone()).or_default().set(t, r);
            }
        }
        for (name, hot) in by_name {
            table.insert(&name, hot);
        }
    }
}

/// The record sets a service's name answers with.
pub(crate) fn name_sets(name: &Name, answer: &Answer, serial: u32) -> NameSets {
    let mut a = RecordSet::with_ttl(name.clone(), RecordType::A, answer.ttl);
    let mut aaaa = RecordSet::with_ttl(name.clone(), RecordType::AAAA, answer.ttl);
    for ip in &answer.addresses {
        let (set, rdata) = match ip {
            std::net::IpAddr::V4(v4) => (&mut a, RData::A(A::from(*v4))),
            std::net::IpAddr::V6(v6) => (&mut aaaa, RData::AAAA(AAAA::from(*v6))),
        };
        set.insert(Record::from_rdata(name.clone(), answer.ttl, rdata), serial);
    }
    let keep = |s: RecordSet| (!s.is_empty()).then(|| Arc::new(s));
    NameSets {
        a: keep(a),
        aaaa: keep(aaaa),
    }
}

/// Builds a snapshot from the bases, the services' current answers and the zones' serials.
pub(crate) fn build(
    bases: &[ZoneBase],
    static_hot: &Arc<HotTable>,
    defs: &[ServiceDef],
    answers: &[Answer],
    serials: &[u32],
    journals: &[Journal],
) -> Result<Snapshot, DnsError> {
    let mut per_zone: Vec<HashMap<LowerName, NameSets>> = vec![HashMap::new(); bases.len()];
    for (def, answer) in defs.iter().zip(answers) {
        for (zone, name) in &def.names {
            let serial = serials.get(*zone).copied().unwrap_or_default();
            if let Some(map) = per_zone.get_mut(*zone) {
                map.insert(LowerName::new(name), name_sets(name, answer, serial));
            }
        }
    }
    let mut hot = HotTable::default();
    let mut zones = Vec::with_capacity(bases.len());
    let mut catalog = Catalog::new();
    for (((base, services), serial), journal) in
        bases.iter().zip(per_zone).zip(serials).zip(journals)
    {
        let soa = Arc::new(base.soa(*serial, base.soa_ttl));
        let soa_answer = Arc::new(base.soa(*serial, base.soa_own_ttl));
        render_zone(base, &soa, &soa_answer, &services, &mut hot).ok_or_else(|| {
            DnsError::Snapshot {
                zone: base.file.origin.clone(),
                problem: "cannot render the fast-path answers".into(),
            }
        })?;
        let snap = Arc::new(ZoneSnap {
            origin: base.origin.clone(),
            apex: base.apex.clone(),
            serial: *serial,
            soa,
            soa_answer,
            services,
            static_sets: base.static_sets.clone(),
            statics: base.statics.clone(),
            journal: journal.iter().cloned().collect(),
        });
        let handler: Arc<dyn ZoneHandler> = snap.clone();
        catalog.upsert(base.origin.clone(), vec![handler]);
        zones.push(snap);
    }
    Ok(Snapshot {
        zones,
        catalog,
        hot,
        static_hot: static_hot.clone(),
    })
}

/// Renders the apex SOA and every service name of one zone into `hot`.
fn render_zone(
    base: &ZoneBase,
    soa: &Arc<RecordSet>,
    soa_answer: &Arc<RecordSet>,
    services: &HashMap<LowerName, NameSets>,
    hot: &mut HotTable,
) -> Option<()> {
    let soa_rec = soa.records_without_rrsigs().next()?;
    let mut apex = HotName::default();
    let s = Sections {
        rcode: ResponseCode::NoError,
        answers: vec![soa_answer.records_without_rrsigs().next()?],
        authorities: base.apex_ns.iter().collect(),
    };
    apex.set(
        RecordType::SOA,
        Rendered::render(&base.apex, RecordType::SOA, &s)?,
    );
    hot.insert(&base.apex, apex);
    if let Some(names) = &base.names {
        hot.add_nx(names.clone(), soa_rec)?;
    }
    render_cnames(base, soa_rec, services, hot)?;
    for (lname, sets) in services {
        let name = Name::from(lname);
        let nodata = |qtype| {
            let s = Sections {
                rcode: ResponseCode::NoError,
                answers: vec![],
                authorities: vec![soa_rec],
            };
            Rendered::render(&name, qtype, &s)
        };
        let answer = |qtype, set: &Arc<RecordSet>| {
            let s = Sections {
                rcode: ResponseCode::NoError,
                answers: set.records_without_rrsigs().collect(),
                authorities: vec![],
            };
            Rendered::render(&name, qtype, &s)
        };
        let mut h = HotName::default();
        for (qtype, set) in [
            (RecordType::A, sets.a.as_ref()),
            (RecordType::AAAA, sets.aaaa.as_ref()),
            (RecordType::ANY, sets.a.as_ref().or(sets.aaaa.as_ref())),
        ] {
            let r = match set {
                Some(set) => answer(qtype, set)?,
                None => nodata(qtype)?,
            };
            h.set(qtype, r);
        }
        h.set_other(nodata(RecordType::TXT)?);
        hot.insert(&name, h);
    }
    Some(())
}

/// Renders each static CNAME whose target is an existing in-zone name that is not itself a
/// CNAME: the chain plus the target's records of the asked type, or, when the target has
/// none, NODATA with the SOA in the authority section (RFC 2308 §2.2; hickory's Catalog
/// answers that case with no SOA, issue #13). Longer chains and other targets stay with
/// the Catalog.
fn render_cnames(
    base: &ZoneBase,
    soa_rec: &Record,
    services: &HashMap<LowerName, NameSets>,
    hot: &mut HotTable,
) -> Option<()> {
    let records = &base.file.records;
    for (key, set) in records {
        if key.record_type != RecordType::CNAME {
            continue;
        }
        let owner = Name::from(&key.name);
        let Some(cname) = set.records_without_rrsigs().next() else {
            continue;
        };
        let RData::CNAME(target) = &cname.data else {
            continue;
        };
        let target = LowerName::new(&target.0);
        if !base.origin.zone_of(&target)
            || owner.is_wildcard()
            || base.delegated(&owner)
            || base.delegated(&Name::from(&target))
            || records.contains_key(&RrKey::new(target.clone(), RecordType::CNAME))
        {
            continue;
        }
        let mut at_target: Vec<(RecordType, Vec<&Record>)> = records
            .iter()
            .filter(|(k, _)| k.name == target)
            .map(|(k, s)| (k.record_type, s.records_without_rrsigs().collect()))
            .collect();
        if let Some(sets) = services.get(&target) {
            for (t, set) in [(RecordType::A, &sets.a), (RecordType::AAAA, &sets.aaaa)] {
                if let Some(set) = set {
                    at_target.push((t, set.records_without_rrsigs().collect()));
                }
            }
        } else if at_target.is_empty() {
            // The target does not exist: NXDOMAIN with the chain; left to the Catalog.
            continue;
        }
        let mut h = HotName::default();
        let chain_only = Sections {
            rcode: ResponseCode::NoError,
            answers: vec![cname],
            authorities: vec![],
        };
        h.set(
            RecordType::CNAME,
            Rendered::render(&owner, RecordType::CNAME, &chain_only)?,
        );
        h.set(
            RecordType::ANY,
            Rendered::render(&owner, RecordType::ANY, &chain_only)?,
        );
        for (t, rrs) in &at_target {
            let mut answers = vec![cname];
            answers.extend(rrs.iter().copied());
            let s = Sections {
                rcode: ResponseCode::NoError,
                answers,
                authorities: vec![],
            };
            h.set(*t, Rendered::render(&owner, *t, &s)?);
        }
        let nodata = Sections {
            rcode: ResponseCode::NoError,
            answers: vec![cname],
            authorities: vec![soa_rec],
        };
        h.set_other(Rendered::render(&owner, RecordType::TXT, &nodata)?);
        hot.insert(&owner, h);
    }
    Some(())
}
