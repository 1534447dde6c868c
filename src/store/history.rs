//! History queries over audit records: newest first, by service, limited.

use crate::model::ServiceId;
use crate::policy::AuditRecord;

/// What `history` returns: optionally one service's records, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only records about this service.
    pub service: Option<ServiceId>,
    /// At most this many records (newest first); `None` means all.
    pub limit: Option<usize>,
}

impl HistoryQuery {
    /// Whether one audit record passes the service filter.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.service.as_ref().is_none_or(|s| record.is_about(s))
    }

    /// Apply filter and limit to records in log order (oldest first); returns newest first.
    pub fn apply<'a>(
        &self,
        records: impl DoubleEndedIterator<Item = &'a AuditRecord>,
    ) -> Vec<AuditRecord> {
        let limit = self.limit.unwrap_or(usize::MAX);
        records
            .rev()
            .filter(|r| self.matches(r))
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::policy::{Command, Input};

    fn reject(at: u64, service: &str) -> AuditRecord {
        AuditRecord::input(
            Timestamp(at),
            Input::Command(Command::Reject {
                service: service.into(),
                by: "t".into(),
            }),
        )
    }

    #[test]
    fn newest_first_filtered_and_limited() {
        let recs = [
            reject(1, "crm"),
            reject(2, "billing"),
            AuditRecord::input(Timestamp(3), Input::Tick),
            reject(4, "crm"),
            reject(5, "crm"),
        ];
        let q = HistoryQuery {
            service: Some("crm".into()),
            limit: Some(2),
        };
        let got: Vec<_> = q.apply(recs.iter()).iter().map(|r| r.at.0).collect();
        assert_eq!(got, vec![5, 4]);
        let all: Vec<_> = HistoryQuery::default()
            .apply(recs.iter())
            .iter()
            .map(|r| r.at.0)
            .collect();
        assert_eq!(all, vec![5, 4, 3, 2, 1]);
    }
}
