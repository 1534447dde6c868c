//! DNS response-code mnemonics, as `dns` checks name them in `expect_rcode`.

/// Response-code mnemonics (RFC 1035, RFC 2136) and their values.
pub(crate) const RCODES: [(&str, u8); 11] = [
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
];

/// The value of a response-code mnemonic (`NOERROR`, `NXDOMAIN`, ...), if known.
pub(crate) fn rcode_named(name: &str) -> Option<u8> {
    RCODES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}
