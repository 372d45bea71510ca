//! A real SMTP server for tests: Python's aiosmtpd, started as a child
//! process on a loopback port, storing what it receives in a Maildir that
//! tests read (decoded with `mail-parser`, whatever transfer encoding the
//! sender chose). Killed when dropped. Needs `python3` with `aiosmtpd`
//! (`pip install aiosmtpd` or Debian's `python3-aiosmtpd`); without it the
//! test fails, saying so.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use mail_parser::MessageParser;
use tempfile::TempDir;

/// How long the server may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running aiosmtpd.
#[derive(Debug)]
pub struct TestSmtp {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

/// One message as the server stored it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope's recipients (aiosmtpd's `X-RcptTo`).
    pub to: Vec<String>,
    pub subject: String,
    /// The decoded text part.
    pub text: String,
    /// The decoded HTML part.
    pub html: String,
    /// The message as it arrived.
    pub raw: String,
}

impl Mail {
    /// The code on the text part's `Code: ` line.
    pub fn code(&self) -> String {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix("Code: "))
            .unwrap_or_else(|| panic!("no `Code: ` line in the text part:\n{}", self.text))
            .trim()
            .to_owned()
    }
}

/// A free loopback port: aiosmtpd cannot be asked to pick one, so one is
/// bound and let go (another process could take it meanwhile; unlikely).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl TestSmtp {
    /// Starts a server on a free port.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts a server on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> Self {
        check_aiosmtpd();
        let dir = TempDir::new().expect("a temporary directory");
        let maildir = dir.path().join("maildir");
        let log = dir.path().join("aiosmtpd.log");
        let log_file = std::fs::File::create(&log).expect("a log file for aiosmtpd");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start python3 -m aiosmtpd: {error}"));
        let mut server = Self { port, child, dir };
        server.wait_until_accepting(&log).await;
        server
    }

    async fn wait_until_accepting(&mut self, log: &Path) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "aiosmtpd on port {} exited at start ({status}):\n{}",
                    self.port,
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not accept connections on port {} within {START_LIMIT:?}:\n{}",
                self.port,
                std::fs::read_to_string(log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The URL a service sends through: `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in the order they arrived.
    pub fn messages(&self) -> Vec<Mail> {
        read_maildir(&self.dir.path().join("maildir"))
    }

    /// The messages received so far for `email`, in the order they arrived.
    pub fn messages_to(&self, email: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|to| to.eq_ignore_ascii_case(email)))
            .collect()
    }

    /// Waits until `count` messages for `email` have arrived (polling, at
    /// most 20 s) and returns them all, oldest first.
    pub async fn wait_for(&self, email: &str, count: usize) -> Vec<Mail> {
        crate::eventually(
            Duration::from_secs(20),
            &format!("{count} mail(s) to {email}"),
            || async {
                let mails = self.messages_to(email);
                (mails.len() >= count).then_some(mails)
            },
        )
        .await
    }

    /// Waits for the `nth` message (1 for the first) to `email` and returns it.
    pub async fn wait_for_nth(&self, email: &str, nth: usize) -> Mail {
        self.wait_for(email, nth).await.swap_remove(nth - 1)
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test at once, saying what to install, when aiosmtpd is missing.
fn check_aiosmtpd() {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match found {
        Ok(status) if status.success() => {}
        Ok(_) => panic!(
            "the mail tests need Python's aiosmtpd: `pip install aiosmtpd` \
             or `apt-get install python3-aiosmtpd` (.ci/run installs it)"
        ),
        Err(error) => panic!("the mail tests need python3 with aiosmtpd: {error}"),
    }
}

/// The messages of a Maildir (`new/` and `cur/`), oldest first.
fn read_maildir(maildir: &Path) -> Vec<Mail> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(maildir.join(sub)).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, entry.path()))
        })
        .collect();
    // Maildir names begin with the delivery time in seconds; the file's
    // modification time orders messages within a second.
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| std::fs::read(&path).ok())
        .map(|bytes| parse(&bytes))
        .collect()
}

/// Reads a stored message: envelope recipients, subject and decoded parts.
pub fn parse(bytes: &[u8]) -> Mail {
    let raw = String::from_utf8_lossy(bytes).into_owned();
    let message = MessageParser::default()
        .parse(bytes)
        .unwrap_or_else(|| panic!("not a mail message:\n{raw}"));
    let to = message
        .header_raw("X-RcptTo")
        .map(|to| to.split(',').map(|to| to.trim().to_owned()).collect())
        .unwrap_or_default();
    Mail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|html| html.into_owned())
            .unwrap_or_default(),
        raw,
    }
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
        net::TcpStream,
    };

    use super::*;

    /// Speaks just enough SMTP to hand over one message, checking each reply.
    async fn send(port: u16, to: &str, message: &str) {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut replies = BufReader::new(read).lines();
        let mut expect = async |code: &str| {
            let reply = replies.next_line().await.unwrap().unwrap();
            assert!(reply.starts_with(code), "expected {code}, got {reply}");
        };
        expect("220").await;
        for (command, reply) in [
            ("HELO test".to_owned(), "250"),
            ("MAIL FROM:<sender@example.com>".to_owned(), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_owned(), "354"),
            (format!("{message}\r\n."), "250"),
            ("QUIT".to_owned(), "221"),
        ] {
            write
                .write_all(format!("{command}\r\n").as_bytes())
                .await
                .unwrap();
            expect(reply).await;
        }
    }

    #[tokio::test]
    async fn delivered_mail_is_read_back_decoded_whatever_its_encoding() {
        let server = TestSmtp::start().await;
        // "Code: ABCD-EFGH\r\nhttp://x/#/verify?email=a%40b.c&code=ABCD-EFGH\r\n" in base64,
        // and an HTML part in quoted-printable with a soft line break.
        let message = "From: sender@example.com\r\nTo: ada@example.com\r\nSubject: Hi\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            Q29kZTogQUJDRC1FRkdIDQpodHRwOi8veC8jL3ZlcmlmeT9lbWFpbD1hJTQwYi5jJmNvZGU9QUJDRC1FRkdIDQo=\r\n\
            --b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            <p>ABCD-=\r\nEFGH</p>\r\n--b--";
        send(server.port, "ada@example.com", message).await;
        let mail = server.wait_for_nth("ada@example.com", 1).await;
        assert_eq!(mail.to, ["ada@example.com"]);
        assert_eq!(mail.subject, "Hi");
        assert_eq!(mail.code(), "ABCD-EFGH");
        assert!(
            mail.text.contains("email=a%40b.c&code=ABCD-EFGH"),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("<p>ABCD-EFGH</p>"), "{}", mail.html);
        assert!(server.messages_to("someone.else@example.com").is_empty());
    }
}
