//! The SOA serial never goes backwards across restarts, and shutdown finishes.

use crate::dns_support::{Running, config, dig, services, shipped_zone, view};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_survives_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&shipped_zone(), dir.path(), services());
    let mut last = 0u32;
    for round in 0..3u64 {
        let srv = Running::start(&cfg);
        let start = srv.handle.serial("boss.example.").expect("serial");
        assert!(
            round == 0 || start > last,
            "restart {round}: {start} must exceed {last}"
        );
        // Enough switches to cross a reserved block of serials.
        for i in 0..1030u64 {
            let site = if i % 2 == 0 { "sh" } else { "bj" };
            let epoch = round * 100 + i + 1;
            assert!(
                srv.handle
                    .apply(&[view("crm", site, epoch, false, &[site])])
                    .expect("apply")
            );
        }
        last = srv.handle.serial("boss.example.").expect("serial");
        assert_eq!(last, start + 1030);
        if let Some(soa) = dig(srv.addr, &["boss.example", "SOA", "+short"]).await {
            assert!(soa.contains(&format!(" {last} ")), "{soa}");
        }
        srv.stop().await;
    }
}
