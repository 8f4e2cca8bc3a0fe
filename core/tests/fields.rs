//! A mail given as fields (what the bindings convert their host's objects to) read by each
//! dialect's rules.

use polymailer::fields::{mailboxes, outgoing, Dialect};
use polymailer::{ErrorKind, Message, Outgoing, Value};

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn fields(o: Outgoing) -> Message {
    match o {
        Outgoing::Fields(m) => *m,
        Outgoing::Raw(_) => panic!("expected fields"),
    }
}

#[test]
fn addresses_in_every_shape_the_hosts_give_them() {
    let given = Value::List(vec![
        text("a@example.com, \"Doe, J\" <j@example.com>"),
        map(&[("name", text("Bee")), ("address", text("b@example.com"))]),
        Value::Tuple(vec![text("Cee"), text("c@example.com")]),
        Value::List(vec![Value::Null, Value::Bool(false), text(""), text("d@example.com")]),
    ]);
    let got: Vec<(Option<String>, String)> = mailboxes(&given)
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.address))
        .collect();
    let want = [
        (None, "a@example.com"),
        (Some("Doe, J"), "j@example.com"),
        (Some("Bee"), "b@example.com"),
        (Some("Cee"), "c@example.com"),
        (None, "d@example.com"),
    ];
    assert_eq!(got.len(), want.len());
    for ((name, address), (wname, waddress)) in got.iter().zip(want) {
        assert_eq!((name.as_deref(), address.as_str()), (wname, waddress));
    }
    let bad = map(&[("address", text("a@b\r\nBcc: x@y"))]);
    assert_eq!(mailboxes(&bad).unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn nodemailer_envelope_dsn_and_raw() {
    let mail = map(&[
        ("from", text("f@example.com")),
        ("to", text("t@example.com")),
        (
            "envelope",
            map(&[
                ("from", map(&[("address", text("bounce@example.com"))])),
                ("to", text("x@example.com")),
                ("cc", Value::List(vec![text("y@example.com"), Value::Null])),
                ("bcc", text("z@example.com")),
            ]),
        ),
        ("dsn", map(&[("notify", text("success,failure")), ("id", text("env1"))])),
        ("raw", Value::Bytes(b"Subject: hi\r\n\r\nbody\r\n".to_vec())),
    ]);
    let Outgoing::Raw(raw) = outgoing(&mail, Dialect::Nodemailer).unwrap() else {
        panic!("expected raw")
    };
    let env = raw.envelope.unwrap();
    assert_eq!(env.from.as_deref(), Some("bounce@example.com"));
    assert_eq!(env.to, ["x@example.com", "y@example.com", "z@example.com"]);
    let dsn = env.dsn.unwrap();
    assert_eq!(dsn.mail_params, ["ENVID=env1"]);
    assert_eq!(dsn.rcpt_params, ["NOTIFY=SUCCESS,FAILURE"]);
    // polymailer's Message has no envelope, dsn or raw field: they are not read.
    let m = fields(outgoing(&mail, Dialect::Polymailer).unwrap());
    assert!(m.envelope.is_none());
}

#[test]
fn nodemailer_takes_from_then_sender_then_reply_to_for_mail_from() {
    let mail = map(&[("replyTo", text("r@example.com")), ("to", text("t@example.com"))]);
    let m = fields(outgoing(&mail, Dialect::Nodemailer).unwrap());
    assert_eq!(m.envelope.unwrap().from.as_deref(), Some("r@example.com"));
    let m = fields(outgoing(&mail, Dialect::Polymailer).unwrap());
    assert_eq!(m.derived_envelope().from, None);
}

#[test]
fn list_values_are_lines_for_nodemailer_and_one_line_for_polymailer() {
    let mail = map(&[(
        "list",
        map(&[
            (
                "unsubscribe",
                Value::List(vec![
                    text("https://example.com/u"),
                    map(&[("url", text("mailto:u@example.com")), ("comment", text("by mail"))]),
                ]),
            ),
            ("oneClick", Value::Bool(true)),
        ]),
    )]);
    let lines = |d| fields(outgoing(&mail, d).unwrap()).list.headers().unwrap();
    let node = lines(Dialect::Nodemailer);
    assert_eq!(node.iter().filter(|(k, _)| k == "List-Unsubscribe").count(), 2);
    assert!(node.iter().any(|(k, _)| k == "List-Unsubscribe-Post"));
    let python = lines(Dialect::Polymailer);
    assert_eq!(python.iter().filter(|(k, _)| k == "List-Unsubscribe").count(), 1);
    let no_url = map(&[("list", map(&[("help", map(&[("comment", text("x"))]))]))]);
    assert_eq!(
        outgoing(&no_url, Dialect::Nodemailer).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn attachments_headers_references_and_bad_words() {
    let mail = map(&[
        (
            "attachments",
            Value::List(vec![
                map(&[
                    ("content", text("a")),
                    ("filename", Value::Bool(false)),
                    ("contentDisposition", text("inline")),
                ]),
                map(&[
                    ("path", text("/tmp/x.pdf")),
                    ("content_type", text("application/pdf")),
                    ("cid", text("c1")),
                ]),
                text("/tmp/y.txt"),
            ]),
        ),
        (
            "headers",
            map(&[("X-One", Value::List(vec![text("1"), map(&[("value", text("2"))])]))]),
        ),
        ("references", Value::List(vec![text("<a@x> <b@x>"), text("<c@x>")])),
        ("date", Value::Number(86400.0)),
    ]);
    // A bare path is polymailer's form; Nodemailer's transport decides file access on
    // attachment objects, so a bare string is not read as a path there.
    assert_eq!(
        outgoing(&mail, Dialect::Nodemailer).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        fields(outgoing(&mail, Dialect::Polymailer).unwrap()).attachments.len(),
        3
    );
    let Value::Map(mut entries) = mail else { unreachable!() };
    if let Value::List(items) = &mut entries[0].1 {
        items.pop();
    }
    let m = fields(outgoing(&Value::Map(entries), Dialect::Nodemailer).unwrap());
    assert_eq!(m.attachments.len(), 2);
    assert!(m.attachments[0].filename.is_none());
    assert!(m.attachments[0]
        .content_id
        .as_deref()
        .is_some_and(|c| c.ends_with("@polymailer")));
    assert_eq!(m.attachments[1].content_id.as_deref(), Some("c1"));
    assert_eq!(
        m.headers,
        [("X-One".to_string(), "1".to_string()), ("X-One".into(), "2".into())]
    );
    assert_eq!(m.references, ["<a@x>", "<b@x>", "<c@x>"]);
    assert_eq!(
        m.date,
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86400))
    );
    for bad in [
        map(&[("priority", text("urgent"))]),
        map(&[("attachments", Value::List(vec![map(&[("filename", text("x"))])]))]),
        map(&[("from", text("a@example.com, b@example.com"))]),
        map(&[("dsn", map(&[("ret", text("everything"))]))]),
    ] {
        assert_eq!(
            outgoing(&bad, Dialect::Nodemailer).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
}

#[test]
fn cr_lf_and_nul_on_every_field_path_are_refused_before_the_wire() {
    let base = [("from", text("f@example.com")), ("to", text("t@example.com"))];
    let with = |extra: (&str, Value)| {
        let mut entries: Vec<(&str, Value)> = base.to_vec();
        entries.push(extra);
        map(&entries)
    };
    let cases = [
        with(("headers", map(&[("X-Note", text("a\r\nBcc: evil@example.com"))]))),
        with(("headers", map(&[("X-Bad\r\nName", text("v"))]))),
        with(("subject", text("hi\r\nBcc: evil@example.com"))),
        with((
            "envelope",
            map(&[("to", text("t@example.com\r\nRCPT TO:<evil@example.com>"))]),
        )),
        with(("envelope", map(&[("from", text("f@example.com\0"))]))),
        with((
            "list",
            map(&[("unsubscribe", text("https://example.com/u\r\nBcc: x@y"))]),
        )),
        with(("messageId", text("<a@b>\r\nBcc: evil@example.com"))),
        with((
            "attachments",
            Value::List(vec![map(&[("content", text("x")), ("filename", text("a\r\nb.txt"))])]),
        )),
        with((
            "cc",
            Value::List(vec![map(&[
                ("name", text("Eve\r\nBcc: x@y")),
                ("address", text("e@example.com")),
            ])]),
        )),
    ];
    for case in cases {
        let got = outgoing(&case, Dialect::Nodemailer).and_then(|o| o.prepare());
        assert_eq!(got.map(|_| ()).unwrap_err().kind(), ErrorKind::InvalidInput, "{case:?}");
    }
}
