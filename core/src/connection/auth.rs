//! AUTH: PLAIN, LOGIN, CRAM-MD5 and XOAUTH2, secrets masked in the transcript.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};

use super::Connection;
use crate::config::{AuthMechanism, Credentials, Secret};
use crate::error::{Error, ErrorKind, Result, Stage};
use crate::reply::Reply;

impl Connection {
    /// AUTH with the given credentials. Refuses plain text to a remote host unless allowed.
    pub async fn auth(&mut self, creds: &Credentials) -> Result<Reply> {
        self.config.check_plaintext_auth(self.tls_active)?;
        let offered = self.extensions().auth_mechanisms();
        let mechanism = match (creds.mechanism, &creds.secret) {
            (AuthMechanism::Auto, Secret::OAuth2Token(_)) => AuthMechanism::Xoauth2,
            (AuthMechanism::Auto, _) => {
                if offered.iter().any(|m| m == "PLAIN") {
                    AuthMechanism::Plain
                } else if offered.iter().any(|m| m == "LOGIN") {
                    AuthMechanism::Login
                } else {
                    return Err(no_mechanism(&offered));
                }
            }
            (m, _) => m,
        };
        self.authenticate(mechanism, creds, mechanism == AuthMechanism::Plain)
            .await
    }

    /// Tries each mechanism of `order` that the server offers until one succeeds (smtplib's
    /// `login()`: servers advertise mechanisms they refuse). `initial_response`: send the
    /// RFC 4954 initial response with AUTH where the mechanism has one. A refusal of every
    /// mechanism is the last refusal.
    pub async fn auth_in_order(
        &mut self,
        creds: &Credentials,
        order: &[AuthMechanism],
        initial_response: bool,
    ) -> Result<Reply> {
        self.config.check_plaintext_auth(self.tls_active)?;
        let offered = self.extensions().auth_mechanisms();
        let usable: Vec<AuthMechanism> = order
            .iter()
            .copied()
            .filter(|m| m.sasl_name().is_some_and(|n| offered.iter().any(|o| o == n)))
            .collect();
        let mut last = no_mechanism(&offered);
        for mechanism in usable {
            match self.authenticate(mechanism, creds, initial_response).await {
                // 503: already authenticated, which smtplib counts as success.
                Err(e) if e.code() == Some(503) => return Ok(e.reply().cloned().expect("a coded error has its reply")),
                Err(e) if e.kind() == ErrorKind::Auth && e.code().is_some() && self.is_usable() => last = e,
                other => return other,
            }
        }
        Err(last)
    }

    async fn authenticate(&mut self, mechanism: AuthMechanism, creds: &Credentials, initial: bool) -> Result<Reply> {
        let secret = match &creds.secret {
            Secret::Password(p) | Secret::OAuth2Token(p) => p.as_str(),
        };
        let user = creds.username.as_str();
        let reply = match mechanism {
            AuthMechanism::Plain => {
                let payload = B64.encode(format!("\0{user}\0{secret}"));
                let reply = if initial {
                    self.exchange_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN ")
                        .await?
                } else {
                    self.exchange("AUTH PLAIN", Stage::Auth).await?
                };
                if reply.code == 334 {
                    self.exchange_secret(&payload, "").await?
                } else {
                    reply
                }
            }
            AuthMechanism::Login => {
                let user64 = B64.encode(user);
                let mut reply = if initial {
                    self.exchange_secret(&format!("AUTH LOGIN {user64}"), "AUTH LOGIN ")
                        .await?
                } else {
                    let reply = self.exchange("AUTH LOGIN", Stage::Auth).await?;
                    if reply.code == 334 {
                        self.exchange_secret(&user64, "").await?
                    } else {
                        reply
                    }
                };
                if reply.code == 334 {
                    reply = self.exchange_secret(&B64.encode(secret), "").await?;
                }
                reply
            }
            AuthMechanism::CramMd5 => {
                let reply = self.exchange("AUTH CRAM-MD5", Stage::Auth).await?;
                if reply.code == 334 {
                    let challenge = B64.decode(reply.text().trim()).map_err(|_| {
                        Error::new(ErrorKind::Protocol, Stage::Auth, "CRAM-MD5 challenge is not base64")
                    })?;
                    self.exchange_secret(&B64.encode(cram_md5(user, secret, &challenge)), "")
                        .await?
                } else {
                    reply
                }
            }
            AuthMechanism::Xoauth2 | AuthMechanism::Auto => {
                let payload = B64.encode(format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
                let mut reply = self
                    .exchange_secret(&format!("AUTH XOAUTH2 {payload}"), "AUTH XOAUTH2 ")
                    .await?;
                if reply.code == 334 {
                    // The server sent a JSON error; an empty line gets the final 5xx.
                    reply = self.exchange("", Stage::Auth).await?;
                }
                reply
            }
        };
        if reply.code != 235 {
            return Err(Error::from_reply(ErrorKind::Auth, Stage::Auth, reply));
        }
        self.authenticated = true;
        Ok(reply)
    }

    /// One AUTH exchange line whose content is secret (a SASL response): shown masked in the
    /// transcript. For mechanisms driven from a binding (smtplib's `auth(mechanism, callable)`).
    pub async fn auth_line(&mut self, line: &str) -> Result<Reply> {
        crate::address::check_no_control("AUTH response", line)?;
        let shown = if line.to_ascii_uppercase().starts_with("AUTH ") {
            line.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" ") + " "
        } else {
            String::new()
        };
        let reply = self.exchange_secret(line, &shown).await?;
        if reply.code == 235 {
            self.authenticated = true;
        }
        Ok(reply)
    }
}

fn no_mechanism(offered: &[String]) -> Error {
    if offered.is_empty() {
        Error::new(
            ErrorKind::NotSupported,
            Stage::Auth,
            "SMTP AUTH extension not supported by server",
        )
    } else {
        Error::new(
            ErrorKind::Auth,
            Stage::Auth,
            format!("no supported AUTH mechanism (server offers {})", offered.join(" ")),
        )
    }
}

/// RFC 2195: `user SP hex(HMAC-MD5(password, challenge))`.
fn cram_md5(user: &str, secret: &str, challenge: &[u8]) -> String {
    let mut mac = Hmac::<md5::Md5>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{user} {hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cram_md5_matches_rfc_2195() {
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            super::cram_md5("tim", "tanstaaftanstaaf", challenge),
            "tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
