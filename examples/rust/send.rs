//! The classic example with polymailer's Rust API: STARTTLS on 587, login, one text message.
//! Connection settings come from SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASS and, for a local
//! server with its own CA, SMTP_CA_FILE.

use polymailer::{Credentials, Mailbox, Mailer, Message, Security, TransportConfig};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() -> Result<(), polymailer::Error> {
    let smtp_server = env("SMTP_HOST", "smtp.mailgun.org");
    let port: u16 = env("SMTP_PORT", "587").parse().expect("SMTP_PORT is a number");
    let username = env("SMTP_USER", "user@example.com");
    let password = env("SMTP_PASS", "yourpassword");
    let receiver = "receiver@example.com";

    let mut config = TransportConfig::new(smtp_server, port)
        .security(Security::StartTlsRequired)
        .credentials(Credentials::password(&username, password));
    if let Ok(ca) = std::env::var("SMTP_CA_FILE") {
        config.tls.add_ca_file(ca)?;
    }
    let mailer = Mailer::new(config)?;

    let mut msg = Message::new();
    msg.from = Some(Mailbox::new(Some("Your Name".into()), &username));
    msg.to.push(Mailbox::parse(receiver)?);
    msg.subject = Some("Hello from Rust".into());
    msg.text = Some("This is a test email sent using polymailer.".into());

    let report = mailer.send_blocking(&msg)?;
    println!("Email sent: {}", report.response.one_line());
    Ok(())
}
