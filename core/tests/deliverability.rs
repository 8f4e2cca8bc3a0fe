//! Deliverability checks against a real DNS server (dnsmasq on 127.0.0.1 serving
//! tests/dns/zone.conf): each zone case gives the status it should, and bad input or a dead
//! resolver is a typed error within the timeout.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::Server;
use polymailer::check::{check_domain_blocking, CheckOptions, DomainReport, ResolverSettings, Status};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{DkimConfig, ErrorKind};

fn options(dns: &Server) -> CheckOptions {
    CheckOptions {
        resolver: ResolverSettings {
            nameserver: Some(SocketAddr::from(([127, 0, 0, 1], dns.port))),
            timeout: Duration::from_secs(2),
            tcp_only: false,
        },
        ..CheckOptions::default()
    }
}

fn status(report: &DomainReport, check: &str) -> Status {
    report
        .find(check)
        .unwrap_or_else(|| panic!("no {check} in {report:#?}"))
        .status
}

fn signing_key(dns: &Server, domain: &str, file: &str) -> DkimConfig {
    let pem = std::fs::read_to_string(dns.outdir.join(file)).unwrap();
    DkimConfig::new(domain, "s1", &pem, None, None).unwrap()
}

#[test]
fn good_domain_passes_everything() {
    let dns = Server::dns();
    let mut o = options(&dns);
    o.selectors = vec!["ed".into()];
    o.dkim = Some(signing_key(&dns, "good.test", "dkim-rsa.pkcs8.pem"));
    o.ip = Some("192.0.2.10".parse().unwrap());
    o.dnsbl = vec!["bl.test".into(), "blocked.test".into(), "nothing.test".into()];
    o.domain_dnsbl = vec!["dbl.test".into()];
    let r = check_domain_blocking("good.test", &o).unwrap();
    for check in [
        "mx",
        "spf",
        "spf_lookups",
        "spf_ip",
        "dkim_key_match",
        "dmarc",
        "dmarc_rua",
        "dmarc_alignment",
        "mta_sts",
        "tls_rpt",
    ] {
        assert_eq!(status(&r, check), Status::Pass, "{check}: {r:#?}");
    }
    assert_eq!(r.find("spf_lookups").unwrap().detail, "1 of 10 DNS lookups");
    let dkim: Vec<_> = r.findings.iter().filter(|f| f.check == "dkim").collect();
    assert_eq!(dkim.len(), 2, "{dkim:#?}");
    assert!(dkim.iter().all(|f| f.status == Status::Pass), "{dkim:#?}");
    assert!(dkim.iter().any(|f| f.detail == "ed25519 256-bit key published"));
    assert!(dkim.iter().any(|f| f.detail == "rsa 2048-bit key published"));
    // The blacklists: not listed in two zones; the "query refused" code is an error, not a listing.
    let lists: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "dnsbl")
        .map(|f| (f.subject.as_str(), f.status))
        .collect();
    assert!(lists.contains(&("192.0.2.10 in bl.test", Status::Pass)), "{lists:?}");
    assert!(
        lists.contains(&("192.0.2.10 in nothing.test", Status::Pass)),
        "{lists:?}"
    );
    assert!(
        lists.contains(&("192.0.2.10 in blocked.test", Status::Error)),
        "{lists:?}"
    );
    assert!(lists.contains(&("good.test in dbl.test", Status::Pass)), "{lists:?}");
    assert!(!r.ok(), "a zone error makes the report fail");
    // An IP in the included range passes too; one outside fails.
    o.dnsbl.clear();
    o.ip = Some("198.51.100.7".parse().unwrap());
    assert_eq!(
        status(&check_domain_blocking("good.test", &o).unwrap(), "spf_ip"),
        Status::Pass
    );
    o.ip = Some("203.0.113.9".parse().unwrap());
    let r = check_domain_blocking("good.test", &o).unwrap();
    assert_eq!(status(&r, "spf_ip"), Status::Fail);
    assert!(r
        .find("spf_ip")
        .unwrap()
        .fix
        .as_deref()
        .unwrap()
        .contains("ip4:203.0.113.9"));
    // The sending host is resolved and its address evaluated.
    o.ip = None;
    o.sending_host = Some("mail.good.test".into());
    let r = check_domain_blocking("good.test", &o).unwrap();
    assert_eq!(status(&r, "spf_ip"), Status::Pass, "{r:#?}");
    assert!(r.ok(), "{r:#?}");
}

#[test]
fn each_broken_case_is_reported() {
    let dns = Server::dns();
    let o = options(&dns);
    let check = |domain: &str, o: &CheckOptions| check_domain_blocking(domain, o).unwrap();

    let r = check("nospf.test", &o);
    assert_eq!(status(&r, "spf"), Status::Missing);
    assert_eq!(status(&r, "dmarc"), Status::Warn);
    assert_eq!(status(&r, "dmarc_rua"), Status::Warn);
    assert_eq!(status(&r, "mta_sts"), Status::Missing);
    assert!(!r.ok());

    let r = check("twospf.test", &o);
    assert_eq!(status(&r, "spf"), Status::Fail);
    assert!(r.find("spf").unwrap().record.as_deref().unwrap().contains(" | "));

    let r = check("toomany.test", &o);
    assert_eq!(status(&r, "spf"), Status::Pass);
    assert_eq!(status(&r, "spf_lookups"), Status::Fail);
    assert!(r.find("spf_lookups").unwrap().detail.starts_with("11 of 10"), "{r:#?}");

    let r = check("soft.test", &o);
    assert_eq!(status(&r, "spf"), Status::Warn);
    assert_eq!(r.find("dmarc").unwrap().detail, "p=quarantine");

    let mut signed = options(&dns);
    signed.dkim = Some(signing_key(&dns, "mismatch.test", "dkim-rsa.pkcs8.pem"));
    let r = check("mismatch.test", &signed);
    assert_eq!(status(&r, "dkim"), Status::Pass);
    assert_eq!(status(&r, "dkim_key_match"), Status::Fail);
    assert!(!r.ok());

    let mut weak = options(&dns);
    weak.selectors = vec!["s1".into(), "s2".into(), "s3".into(), "s4".into()];
    let r = check("weak.test", &weak);
    let dkim: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "dkim")
        .map(|f| (f.subject.as_str(), f.status))
        .collect();
    assert_eq!(
        dkim,
        [
            ("s1._domainkey.weak.test", Status::Warn),
            ("s2._domainkey.weak.test", Status::Fail),
            ("s3._domainkey.weak.test", Status::Fail),
            ("s4._domainkey.weak.test", Status::Missing),
        ]
    );

    let mut misaligned = options(&dns);
    misaligned.envelope_domain = Some("mail.misaligned.test".into());
    misaligned.dkim = Some(signing_key(&dns, "other.test", "dkim-rsa.pkcs8.pem"));
    let r = check("misaligned.test", &misaligned);
    assert_eq!(
        status(&r, "dmarc_alignment"),
        Status::Fail,
        "strict: a subdomain is not aligned"
    );
    misaligned.envelope_domain = Some("misaligned.test".into());
    assert_eq!(
        status(&check("misaligned.test", &misaligned), "dmarc_alignment"),
        Status::Pass
    );

    assert_eq!(status(&check("nomx.test", &o), "mx"), Status::Missing);
    assert_eq!(status(&check("deadmx.test", &o), "mx"), Status::Fail);

    let mut listed = options(&dns);
    listed.ip = Some("192.0.2.66".parse().unwrap());
    listed.dnsbl = vec!["bl.test".into()];
    listed.domain_dnsbl = vec!["dbl.test".into()];
    let r = check("good.test", &listed);
    let bl = r
        .findings
        .iter()
        .find(|f| f.subject == "192.0.2.66 in bl.test")
        .unwrap();
    assert_eq!(bl.status, Status::Fail);
    assert!(bl.detail.contains("listed for testing"), "{bl:?}");
    let r = check("spammy.test", &listed);
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.subject == "spammy.test in dbl.test")
            .unwrap()
            .status,
        Status::Fail
    );
}

#[test]
fn bad_input_and_dead_resolver_are_typed_errors() {
    let mut o = CheckOptions::default();
    for bad in ["", "not a domain", "a..b", "x@y.test"] {
        assert_eq!(
            check_domain_blocking(bad, &o).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    o.dnsbl = vec!["bad zone".into()];
    assert_eq!(
        check_domain_blocking("good.test", &o).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        CheckOptions::parse_ip("192.0.2.300").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        ResolverSettings::parse_nameserver("localhost:53").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    // A UDP port nobody answers on (a bound, silent socket): a timeout error within the bound.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let o = CheckOptions {
        resolver: ResolverSettings {
            nameserver: Some(silent.local_addr().unwrap()),
            timeout: Duration::from_millis(500),
            tcp_only: false,
        },
        ..CheckOptions::default()
    };
    let started = Instant::now();
    let e = check_domain_blocking("good.test", &o).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Connection), "{e:?}");
    assert_eq!(e.stage().as_str(), "dns");
    assert!(e.message().contains(&silent.local_addr().unwrap().to_string()), "{e}");
}

#[test]
fn generated_keys_sign_and_match_their_record() {
    for algorithm in [KeyAlgorithm::Rsa(2048), KeyAlgorithm::Ed25519] {
        let key = generate_key(algorithm, "example.test", "k1").unwrap();
        assert_eq!(key.record_name, "k1._domainkey.example.test");
        assert!(key.record_strings.iter().all(|s| s.len() <= 255));
        assert_eq!(key.record_strings.concat(), key.record_value);
        let config = DkimConfig::new("example.test", "k1", &key.private_key_pem, None, None).unwrap();
        let p = key.record_value.split("p=").nth(1).unwrap();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
        let published = polymailer::dkim::DkimPublicKey::from_record(key.algorithm, &der).unwrap();
        assert_eq!(config.public_key(), &published);
        assert_eq!(published.bits(), key.bits);
        assert!(
            !format!("{key:?}").contains("PRIVATE"),
            "the key is not in Debug output"
        );
    }
    assert_eq!(
        generate_key(KeyAlgorithm::Rsa(512), "example.test", "k")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert!("dsa".parse::<KeyAlgorithm>().is_err());
}

#[test]
fn starttls_probe_only_when_asked() {
    let dns = Server::dns();
    let with_tls = Server::capture(&["--starttls"]);
    let plain = Server::capture(&[]);
    let mut o = options(&dns);
    let r = check_domain_blocking("loopback.test", &o).unwrap();
    assert!(r.find("mx_starttls").is_none(), "no connection unless asked");
    o.probe_starttls = true;
    o.probe_port = Some(with_tls.port);
    let r = check_domain_blocking("loopback.test", &o).unwrap();
    assert_eq!(status(&r, "mx_starttls"), Status::Pass, "{r:#?}");
    assert_eq!(
        r.find("mx_starttls").unwrap().subject,
        format!("mx.loopback.test:{}", with_tls.port)
    );
    o.probe_port = Some(plain.port);
    assert_eq!(
        status(&check_domain_blocking("loopback.test", &o).unwrap(), "mx_starttls"),
        Status::Fail
    );
    o.probe_port = Some(common::free_port());
    assert_eq!(
        status(&check_domain_blocking("loopback.test", &o).unwrap(), "mx_starttls"),
        Status::Error
    );
    assert!(
        with_tls.messages().is_empty() && plain.messages().is_empty(),
        "the probe sends no mail"
    );
}
