//! The mail the service sends (password-reset and verification codes):
//! `Letters` writes complete messages with a text and an HTML part, and
//! `Transport` delivers one, through SMTP (`SMTP_URL`) or, without it, as an
//! `.eml` file in `DATA_DIR/mail/` (mode 0600) for development. Messages wait
//! in the outbox between the two (see `outbox.rs`), so no RPC waits for a
//! mail server.

use std::{io::Write, path::PathBuf, time::Duration};

use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::Envelope,
    message::{Mailbox, Message, MultiPart},
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use service_runtime::{StartError, private_files};

use crate::{
    code::{Code, Purpose},
    config::Config,
    error::Error,
};

/// How long one SMTP delivery may take (connecting included) before it
/// counts as failed and is tried again later.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What stays unencoded in a query value: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A message ready for the outbox.
pub struct Letter {
    pub recipient: String,
    /// The whole RFC 5322 message; it holds the code, so it is never logged.
    pub message: String,
}

/// Writes the service's messages.
#[derive(Debug)]
pub struct Letters {
    from: Mailbox,
    app_url: String,
    code_minutes: u64,
}

impl Letters {
    pub fn from_config(config: &Config) -> Result<Self, StartError> {
        let from: Mailbox = config.mail_from.parse().map_err(|error| {
            StartError::Config(format!(
                "MAIL_FROM {:?} is not a mail address: {error}",
                config.mail_from
            ))
        })?;
        let app_url = config.app_url.trim_end_matches('/').to_owned();
        if !(app_url.starts_with("http://") || app_url.starts_with("https://")) {
            return Err(StartError::Config(format!(
                "APP_URL {:?} must start with http:// or https://",
                config.app_url
            )));
        }
        Ok(Self {
            from,
            app_url,
            code_minutes: config.mail_code_ttl.as_secs().div_ceil(60).max(1),
        })
    }

    /// The message carrying `code` for `purpose` to `email`, with `id` as
    /// its Message-ID (the same however often delivery is tried).
    pub fn write(
        &self,
        purpose: Purpose,
        email: &str,
        code: &Code,
        id: &str,
    ) -> Result<Letter, Error> {
        let to: Address = email
            .parse()
            .map_err(|error| Error::internal(format!("cannot mail this address: {error}")))?;
        let shown = code.display();
        let link = format!(
            "{}/#/{}?email={}&code={}",
            self.app_url,
            match purpose {
                Purpose::ResetPassword => "reset",
                Purpose::VerifyEmail => "verify",
            },
            utf8_percent_encode(email, QUERY_VALUE),
            shown,
        );
        let minutes = self.code_minutes;
        let (subject, opening, closing) = match purpose {
            Purpose::ResetPassword => (
                "Reset your Todo password",
                "Someone, hopefully you, asked to reset the password of your Todo account. \
                 Enter this code where you asked, or open the link:",
                "If you did not ask, ignore this email: your password stays as it is.",
            ),
            Purpose::VerifyEmail => (
                "Verify your email for Todo",
                "Please confirm that this address is yours. \
                 Enter this code in the app, or open the link:",
                "If you did not sign up for Todo, ignore this email.",
            ),
        };
        let expiry =
            format!("The code works once, for {minutes} minutes; asking for a new one voids it.");
        let text = format!("{opening}\n\nCode: {shown}\n\n{link}\n\n{expiry}\n{closing}\n");
        let html = format!(
            "<!DOCTYPE html>\n<html><body>\n<p>{}</p>\n\
             <p style=\"font-size:1.5em;letter-spacing:0.1em\"><strong>{}</strong></p>\n\
             <p><a href=\"{}\">{}</a></p>\n<p>{}<br>{}</p>\n</body></html>\n",
            escape_html(opening),
            escape_html(&shown),
            escape_html(&link),
            escape_html(match purpose {
                Purpose::ResetPassword => "Choose a new password",
                Purpose::VerifyEmail => "Verify my email",
            }),
            escape_html(&expiry),
            escape_html(closing),
        );
        let domain = self.from.email.domain();
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(subject)
            .message_id(Some(format!("<{id}@{domain}>")))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|error| Error::internal(format!("cannot build a message: {error}")))?;
        // Every part is 7-bit, quoted-printable or base64 encoded, so the
        // message is ASCII.
        let message = String::from_utf8(message.formatted())
            .map_err(|_| Error::internal("a built message is not ASCII"))?;
        Ok(Letter {
            recipient: email.to_owned(),
            message,
        })
    }

    /// The sender's address, for the SMTP envelope.
    pub fn sender(&self) -> Address {
        self.from.email.clone()
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Why a delivery failed: worth trying again later, or never.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

/// Where mail goes.
pub enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        sender: Address,
    },
    Files(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { .. } => f.write_str("Transport::Smtp"),
            Self::Files(dir) => f.debug_tuple("Transport::Files").field(dir).finish(),
        }
    }
}

impl Transport {
    /// SMTP at `SMTP_URL`, or files in `DATA_DIR/mail/` (made 0700 now).
    pub fn from_config(config: &Config, letters: &Letters) -> Result<Self, StartError> {
        match config.smtp_url() {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| {
                        StartError::Config(format!("SMTP_URL is not a usable SMTP URL: {error}"))
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Self::Smtp {
                    transport,
                    sender: letters.sender(),
                })
            }
            None => {
                let dir = config.mail_dir();
                private_files::create_dir(&dir).map_err(|error| {
                    StartError::other(
                        format!("cannot create the mail directory {}", dir.display()),
                        error,
                    )
                })?;
                Ok(Self::Files(dir))
            }
        }
    }

    /// Delivers `message` to `recipient`; `id` names its file when mail is
    /// written to files. Returns where it went, for the log.
    pub async fn deliver(
        &self,
        id: &str,
        recipient: &str,
        message: &str,
    ) -> Result<String, DeliveryError> {
        match self {
            Self::Smtp { transport, sender } => {
                let to: Address = recipient
                    .parse()
                    .map_err(|error| DeliveryError::Permanent(format!("bad recipient: {error}")))?;
                let envelope = Envelope::new(Some(sender.clone()), vec![to])
                    .map_err(|error| DeliveryError::Permanent(error.to_string()))?;
                transport
                    .send_raw(&envelope, message.as_bytes())
                    .await
                    .map_err(|error| {
                        if error.is_permanent() {
                            DeliveryError::Permanent(error.to_string())
                        } else {
                            DeliveryError::Transient(error.to_string())
                        }
                    })?;
                Ok("the SMTP server".to_owned())
            }
            Self::Files(dir) => {
                let path = dir.join(format!("{id}.eml"));
                let bytes = message.as_bytes().to_vec();
                let written = path.clone();
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    let mut file = match private_files::create_file(&written) {
                        // Written by an attempt that could not delete its row.
                        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                            return Ok(());
                        }
                        file => file?,
                    };
                    file.write_all(&bytes)?;
                    file.sync_all()
                })
                .await
                .map_err(|error| DeliveryError::Transient(error.to_string()))?
                .map_err(|error| {
                    DeliveryError::Transient(format!("cannot write {}: {error}", path.display()))
                })?;
                Ok(path.display().to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letters(adjust: impl FnOnce(&mut Config)) -> Letters {
        let mut config: Config = service_runtime::config::defaults();
        adjust(&mut config);
        Letters::from_config(&config).unwrap()
    }

    fn text_part(message: &str) -> &str {
        let start = message.find("Code: ").expect("a Code: line");
        &message[start..]
    }

    #[test]
    fn a_letter_has_the_code_line_a_link_with_the_email_encoded_and_an_html_part() {
        let letters = letters(|config| config.app_url = "https://todo.example.com/".into());
        let code = Code::parse("ABCD-EFGH").unwrap();
        let letter = letters
            .write(
                Purpose::ResetPassword,
                "ada+todo@example.com",
                &code,
                "0190-id",
            )
            .unwrap();
        assert_eq!(letter.recipient, "ada+todo@example.com");
        let message = &letter.message;
        assert!(
            message.contains("Subject: Reset your Todo password"),
            "{message}"
        );
        assert!(
            message.contains("Message-ID: <0190-id@localhost>"),
            "{message}"
        );
        assert!(message.contains("multipart/alternative"), "{message}");
        assert!(message.contains("text/plain"), "{message}");
        assert!(message.contains("text/html"), "{message}");
        assert!(
            text_part(message).starts_with("Code: ABCD-EFGH\r\n"),
            "{message}"
        );
        // Quoted-printable may fold the link; unfold it to read it.
        let unfolded = message.replace("=\r\n", "").replace("=3D", "=");
        assert!(
            unfolded.contains(
                "https://todo.example.com/#/reset?email=ada%2Btodo%40example.com&code=ABCD-EFGH"
            ),
            "{message}"
        );
        let verify = letters
            .write(Purpose::VerifyEmail, "ada@example.com", &code, "id")
            .unwrap()
            .message
            .replace("=\r\n", "")
            .replace("=3D", "=");
        assert!(verify.contains("/#/verify?email=ada%40example.com&code=ABCD-EFGH"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_bad_sender_or_app_url_stops_the_start() {
        let mut config: Config = service_runtime::config::defaults();
        config.mail_from = "not an address".into();
        assert!(Letters::from_config(&config).is_err());
        let mut config: Config = service_runtime::config::defaults();
        config.app_url = "javascript:alert(1)".into();
        assert!(Letters::from_config(&config).is_err());
    }
}
