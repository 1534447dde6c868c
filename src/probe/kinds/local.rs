//! Local trouble: a check that fails because of the prober itself (out of descriptors or
//! buffers, no route from this host, a socket or resolver error on this side) says nothing
//! about the site it measures. Such an attempt abstains ([`Outcome::local`]): it does not
//! feed rise/fall, and while any check is in local trouble the node abstains from voting
//! (issue #13: EMFILE from an exhausted process voted both sites down).

#[cfg(test)]
use super::Outcome;
#[cfg(test)]
use crate::probe::evidence::Evidence;
use std::error::Error;
#[cfg(test)]
use std::time::Duration;

/// OS errors that describe this host, not the target.
const LOCAL_ERRNOS: &[(i32, &str)] = &[
    (libc::EMFILE, "EMFILE"),
    (libc::ENFILE, "ENFILE"),
    (libc::ENOBUFS, "ENOBUFS"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::ENETUNREACH, "ENETUNREACH: no route from this host"),
    (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::EPERM, "EPERM: refused on this host"),
    (libc::EACCES, "EACCES"),
    (libc::EAGAIN, "EAGAIN"),
];

/// The name of the local cause, when `e` is one.
pub(crate) fn io(e: &std::io::Error) -> Option<&'static str> {
    let code = e.raw_os_error()?;
    LOCAL_ERRNOS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

/// The local cause anywhere in an error's chain: an OS error above, or a failed name
/// lookup (the prober's resolver).
pub(crate) fn chain(e: &(dyn Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(name) = err.downcast_ref::<std::io::Error>().and_then(io) {
            return Some(name.to_owned());
        }
        if err.to_string().starts_with("dns error") {
            return Some("name lookup failed on this host".to_owned());
        }
        cur = err.source();
    }
    None
}

/// An I/O failure as an outcome: local trouble abstains, anything else fails the check
/// with the evidence `io_evidence` gives it.
#[cfg(test)]
pub(crate) fn io_outcome(rtt: Option<Duration>, what: String, e: &std::io::Error) -> Outcome {
    match io(e) {
        Some(name) => Outcome::local(format!("{what}: {e} ({name})")),
        None => Outcome::failed(super::io_evidence(e), rtt, format!("{what}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_and_route_errors_are_local_refusals_are_not() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(io(&emfile), Some("EMFILE"));
        assert_eq!(
            io_outcome(None, "connect".into(), &emfile).evidence,
            Evidence::Local
        );
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        let o = io_outcome(None, "connect".into(), &refused);
        assert!(o.evidence != Evidence::Local && !o.ok);
        let reset = std::io::Error::from_raw_os_error(libc::ECONNRESET);
        assert!(io(&reset).is_none());
        assert!(io(&std::io::Error::from_raw_os_error(libc::ENETUNREACH)).is_some());
    }

    /// The real thing, in a child process (the limit is per process): with every descriptor
    /// taken, a TCP check's connect fails with EMFILE and the attempt abstains.
    #[test]
    fn a_check_without_descriptors_abstains() {
        if std::env::var_os("S13_EMFILE_CHILD").is_some() {
            return emfile_child();
        }
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "probe::kinds::local::tests::a_check_without_descriptors_abstains",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env("S13_EMFILE_CHILD", "1")
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("CHILD-OK"),
            "child did not run the check: {text}"
        );
    }

    fn emfile_child() {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let spec = crate::probe::defs::TcpSpec {
            target: listener.local_addr().expect("addr"),
            send: None,
            expect: None,
        };
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        setrlimit(Resource::RLIMIT_NOFILE, 64, hard).expect("setrlimit");
        let mut hold = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            hold.push(f);
        }
        let outcome = rt.block_on(super::super::tcp::run(&spec));
        drop(hold);
        assert_eq!(outcome.evidence, Evidence::Local, "{outcome:?}");
        assert!(
            outcome.detail.contains("Too many open files"),
            "{outcome:?}"
        );
        println!("CHILD-OK {}", outcome.detail);
    }
}
