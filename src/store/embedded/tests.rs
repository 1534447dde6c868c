//! The shared battery on the embedded store, plus crash-recovery tests on its files.

use super::*;
use crate::model::Timestamp;
use crate::policy::Input;
use crate::store::HistoryQuery;
use crate::store::battery::{AnyStore, Factory, committed};
use std::io::Write;

/// Fresh stores in temp dirs; time passes on tokio's paused clock.
#[derive(Default)]
struct Dirs {
    current: Option<tempfile::TempDir>,
}

#[async_trait]
impl Factory for Dirs {
    async fn fresh(&mut self) -> Arc<dyn AnyStore> {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStore::open(dir.path()).unwrap();
        self.current = Some(dir);
        Arc::new(s)
    }

    async fn reopen(&mut self) -> Arc<dyn AnyStore> {
        let dir = self.current.as_ref().expect("fresh before reopen");
        Arc::new(EmbeddedStore::open(dir.path()).unwrap())
    }

    async fn pass(&mut self, d: Duration) {
        tokio::time::pause();
        tokio::time::advance(d).await;
        tokio::time::resume();
    }
}

store_battery!(Dirs::default());

/// This process's leadership of `s` (immediate for the embedded store).
async fn lead(s: &EmbeddedStore) -> Leadership {
    s.campaign(&"auth-1".into()).await.unwrap()
}

fn tick(at: u64) -> AuditRecord {
    AuditRecord::input(Timestamp(at), Input::Tick)
}

#[tokio::test]
async fn stray_temp_file_is_removed_and_old_decision_stands() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.commit(&lead(&s).await, &committed("crm", "sh", 2))
        .await
        .unwrap();
    drop(s);
    // A crash after writing half the temp file, before the rename.
    let tmp = dir.path().join("decisions/crm.json.tmp");
    std::fs::write(&tmp, b"{\"decision\": {\"service\": \"crm\", \"act").unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        s.recoveries(),
        &[Recovery::StrayTempFile { path: tmp.clone() }]
    );
    assert!(!tmp.exists());
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        committed("crm", "sh", 2)
    );
    s.commit(&lead(&s).await, &committed("crm", "bj", 3))
        .await
        .unwrap();
}

#[tokio::test]
async fn corrupt_decision_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.commit(&lead(&s).await, &committed("crm", "sh", 2))
        .await
        .unwrap();
    drop(s);
    let path = dir.path().join("decisions/crm.json");
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    match EmbeddedStore::open(dir.path()) {
        Err(e @ StoreError::CorruptDecision { .. }) => {
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        }
        other => panic!("torn decision file not reported: {other:?}"),
    }
    // The file is left as found, for the operator to inspect; never reset.
    assert_eq!(std::fs::read(&path).unwrap(), &full[..full.len() / 2]);
}

#[tokio::test]
async fn decision_file_for_another_service_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.commit(&lead(&s).await, &committed("crm", "sh", 2))
        .await
        .unwrap();
    drop(s);
    std::fs::rename(
        dir.path().join("decisions/crm.json"),
        dir.path().join("decisions/billing.json"),
    )
    .unwrap();
    let err = EmbeddedStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptDecision { path, .. } if path.ends_with("billing.json")),
        "{err}"
    );
}

#[tokio::test]
async fn torn_audit_tail_is_set_aside_and_log_continues() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    s.append(&[tick(1)]).await.unwrap();
    drop(s);
    let log = dir.path().join("audit.jsonl");
    let torn = b"{\"at\": 2, \"inp";
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(torn)
        .unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    let [
        Recovery::TornAuditTail {
            path,
            line,
            bytes,
            saved_to,
        },
    ] = s.recoveries()
    else {
        panic!("torn tail not reported: {:?}", s.recoveries());
    };
    assert_eq!((path, *line, *bytes), (&log, 2, torn.len()));
    assert_eq!(std::fs::read(saved_to).unwrap(), torn);
    s.append(&[tick(3)]).await.unwrap();
    let h = s.history(&HistoryQuery::default()).await.unwrap();
    let ats: Vec<_> = h.iter().map(|r| r.at.0).collect();
    assert_eq!(ats, [3, 1]);
}

#[tokio::test]
async fn corrupt_audit_line_in_the_middle_is_an_error_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let (first, last) = (tick(1).to_line(), tick(3).to_line());
    std::fs::write(&log, format!("{first}\n{{\"at\":2,,}}\n{last}\n")).unwrap();
    match EmbeddedStore::open(dir.path()) {
        Err(e @ StoreError::CorruptAudit { line: 2, .. }) => {
            assert!(
                e.to_string().starts_with(&format!("{}:2:", log.display())),
                "{e}"
            );
        }
        other => panic!("corrupt middle line not reported: {other:?}"),
    }
}

#[tokio::test]
async fn unsafe_service_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(dir.path()).unwrap();
    let err = s
        .commit(&lead(&s).await, &committed("../etc", "bj", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadServiceName { .. }), "{err}");
    assert_eq!(s.load().await.unwrap().len(), 0);
}

#[tokio::test]
async fn second_opener_of_a_state_dir_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedStore::open(dir.path()).unwrap();
    let err = EmbeddedStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { path, .. } if path.ends_with("lock")),
        "{err}"
    );
    drop(first);
    EmbeddedStore::open(dir.path()).unwrap();
}

#[tokio::test]
async fn a_second_torn_tail_at_the_same_offset_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut saved = Vec::new();
    for torn in [&b"{\"first"[..], &b"{\"second"[..]] {
        std::fs::write(&log, torn).unwrap();
        let s = EmbeddedStore::open(dir.path()).unwrap();
        let [Recovery::TornAuditTail { saved_to, .. }] = s.recoveries() else {
            panic!("{:?}", s.recoveries());
        };
        saved.push((saved_to.clone(), torn));
    }
    assert_ne!(saved[0].0, saved[1].0);
    for (path, torn) in saved {
        assert_eq!(std::fs::read(path).unwrap(), torn);
    }
}
