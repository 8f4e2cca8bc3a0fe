//! Sends N ~1 KB messages through polymailer's Rust API and prints msg/s.
//!
//!     polymailer-bench PORT COUNT CONNECTIONS
//!
//! Each message is built from fields (lettre builder) and sent: the path a user's code takes.

use std::time::Instant;

use polymailer::{Mailbox, Mailer, Message, Security, TransportConfig};

fn message(i: usize) -> Message {
    Message {
        from: Some(Mailbox::new(Some("Bench Sender".into()), "sender@example.com")),
        to: vec![Mailbox::new(None, "rcpt@example.com")],
        subject: Some(format!("bench message {i}")),
        // ~1 KB on the wire with the headers.
        text: Some("The quick brown fox jumps over the lazy dog. ".repeat(16)),
        ..Default::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).expect("PORT").parse().unwrap();
    let count: usize = args.get(2).map_or(2000, |c| c.parse().unwrap());
    let connections: usize = args.get(3).map_or(1, |c| c.parse().unwrap());
    let mut config = TransportConfig::new("127.0.0.1", port).security(Security::None);
    config.pool.max_connections = connections;
    let mailer = Mailer::new(config).unwrap();
    let size = message(0).build().unwrap().content.len();
    mailer.send_blocking(&message(0)).unwrap(); // connect outside the timed loop, as smtp-source's setup
    let start = Instant::now();
    let failures = if connections == 1 {
        (0..count)
            .filter(|&i| mailer.send_blocking(&message(i)).is_err())
            .count()
    } else {
        let msgs = (0..count).map(message).collect();
        mailer.send_many_blocking(msgs).iter().filter(|r| r.is_err()).count()
    };
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(failures, 0, "{failures} messages failed");
    println!(
        "{:.0} msg/s ({count} messages of {size} bytes in {secs:.3} s, {connections} connection(s))",
        count as f64 / secs
    );
}
