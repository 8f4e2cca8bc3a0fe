//! AUTH: PLAIN, LOGIN and XOAUTH2, secrets masked in the transcript.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

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
                } else if offered.is_empty() {
                    return Err(Error::new(
                        ErrorKind::NotSupported,
                        Stage::Auth,
                        "SMTP AUTH extension not supported by server",
                    ));
                } else {
                    return Err(Error::new(
                        ErrorKind::Auth,
                        Stage::Auth,
                        format!("no supported AUTH mechanism (server offers {})", offered.join(" ")),
                    ));
                }
            }
            (m, _) => m,
        };
        let secret = match &creds.secret {
            Secret::Password(p) | Secret::OAuth2Token(p) => p.as_str(),
        };
        let user = creds.username.as_str();
        let reply = match mechanism {
            AuthMechanism::Plain => {
                let payload = B64.encode(format!("\0{user}\0{secret}"));
                let reply = self
                    .exchange_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN ")
                    .await?;
                if reply.code == 334 {
                    self.exchange_secret(&payload, "").await?
                } else {
                    reply
                }
            }
            AuthMechanism::Login => {
                let mut reply = self.exchange("AUTH LOGIN", Stage::Auth).await?;
                if reply.code == 334 {
                    reply = self.exchange_secret(&B64.encode(user), "").await?;
                    if reply.code == 334 {
                        reply = self.exchange_secret(&B64.encode(secret), "").await?;
                    }
                }
                reply
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
}
