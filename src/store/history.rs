//! History queries over audit records: newest first, by service, limited.

use crate::model::ServiceId;
use serde_json::Value;

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
    pub fn matches(&self, record: &Value) -> bool {
        match &self.service {
            None => true,
            Some(want) => record_service(record).is_some_and(|s| s == want.as_str()),
        }
    }

    /// Apply filter and limit to records in log order (oldest first); returns newest first.
    pub fn apply(&self, records: impl DoubleEndedIterator<Item = Value>) -> Vec<Value> {
        let limit = self.limit.unwrap_or(usize::MAX);
        records
            .rev()
            .filter(|r| self.matches(r))
            .take(limit)
            .collect()
    }
}

/// The service an audit record is about: the first string-valued `service` key found
/// breadth-first. Records are policy inputs/outputs whose exact shape the store does not own,
/// so it looks for the key rather than a fixed path.
pub(crate) fn record_service(record: &Value) -> Option<&str> {
    let mut queue = std::collections::VecDeque::from([record]);
    while let Some(v) = queue.pop_front() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(s)) = map.get("service") {
                    return Some(s);
                }
                queue.extend(map.values());
            }
            Value::Array(items) => queue.extend(items.iter()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_service_breadth_first() {
        let r = json!({"at": 1, "output": {"commit": {"decision": {"service": "crm"}}}});
        assert_eq!(record_service(&r), Some("crm"));
        let r = json!({"at": 1, "input": "tick"});
        assert_eq!(record_service(&r), None);
    }

    #[test]
    fn newest_first_filtered_and_limited() {
        let recs = vec![
            json!({"n": 1, "service": "crm"}),
            json!({"n": 2, "service": "billing"}),
            json!({"n": 3, "service": "crm"}),
            json!({"n": 4, "service": "crm"}),
        ];
        let q = HistoryQuery {
            service: Some("crm".into()),
            limit: Some(2),
        };
        let got: Vec<_> = q
            .apply(recs.into_iter())
            .iter()
            .map(|r| r["n"].clone())
            .collect();
        assert_eq!(got, vec![json!(4), json!(3)]);
    }
}
