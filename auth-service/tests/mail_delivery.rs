//! How mail leaves the service: without `SMTP_URL` as private `.eml` files
//! in `DATA_DIR/mail/`; through SMTP from an outbox, so a mail server that
//! hangs or is down never slows or fails an RPC, and its mail arrives once
//! the server is back, even after the service restarted meanwhile.

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use proto::auth::v1::{RequestPasswordResetRequest, ResetPasswordRequest, VerifyEmailRequest};
use support::{PASSWORD, TestAuth};
use testkit::{eventually, smtp};
use tokio::{net::TcpListener, sync::oneshot};

const ADA: &str = "ada@example.com";
/// What "at once" means for an RPC whose mail cannot be delivered.
const FAST: Duration = Duration::from_secs(2);

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn without_smtp_url_mail_is_written_as_private_eml_files() {
    let auth = TestAuth::start().await;
    assert!(auth.config.smtp_url.is_none());
    let dir = auth.config.storage.data_dir.join("mail");
    auth.user(ADA).await;
    let file = eventually(Duration::from_secs(10), "an .eml file", || async {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|ext| ext == "eml"))
    })
    .await;
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700, "the mail directory is private");
        assert_eq!(mode(&file), 0o600, "mail files are private");
    }
    let mail = smtp::parse(&std::fs::read(&file).unwrap());
    assert_eq!(mail.subject, "Verify your email for Todo");
    let code = mail.code();
    assert!(
        !file.to_string_lossy().contains(&code),
        "the code is not in the file's name"
    );
    let verified = auth
        .auth()
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code,
        })
        .await
        .expect("the code from the file works")
        .into_inner();
    assert!(verified.user.unwrap().email_verified);
    // The row goes just after the file is written: the file can be read first.
    eventually(
        Duration::from_secs(10),
        "written mail to leave the outbox",
        || async { (auth.outbox_rows().await == 0).then_some(()) },
    )
    .await;
}

/// A port that accepts connections and never says a word, as a mail server
/// that hangs does; dropping it closes them all.
struct SilentServer {
    accepted: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    async fn bind(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop, mut stopped) = oneshot::channel();
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    Ok((socket, _)) = listener.accept() => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        held.push(socket);
                    }
                }
            }
        });
        Self {
            accepted,
            stop: Some(stop),
            task,
        }
    }

    /// Closes the port and every connection it accepted.
    async fn close(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = (&mut self.task).await;
    }
}

#[tokio::test]
async fn a_hanging_then_absent_mail_server_delays_mail_but_never_an_rpc() {
    let port = smtp::free_port();
    let silent = SilentServer::bind(port).await;
    let auth = TestAuth::start_with(|config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    })
    .await;

    let started = Instant::now();
    auth.user(ADA).await; // sign-up (with its mail), then login
    auth.auth()
        .request_password_reset(RequestPasswordResetRequest { email: ADA.into() })
        .await
        .unwrap();
    assert!(
        started.elapsed() < FAST,
        "the RPCs waited for the mail server: {:?}",
        started.elapsed()
    );
    // The sender is stuck talking to the silent server; the mail waits.
    eventually(Duration::from_secs(10), "a delivery attempt", || async {
        (silent.accepted.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(10),
        "both messages in the outbox",
        || async { (auth.outbox_rows().await == 2).then_some(()) },
    )
    .await;
    // Then the server goes away altogether (connections refused)...
    silent.close().await;
    eventually(Duration::from_secs(10), "a failed delivery", || async {
        (auth.outbox_retries().await > 0).then_some(())
    })
    .await;
    let started = Instant::now();
    auth.auth()
        .request_password_reset(RequestPasswordResetRequest { email: ADA.into() })
        .await
        .unwrap();
    assert!(started.elapsed() < FAST);

    // ...and comes back: the mail arrives, and its codes work.
    let server = smtp::TestSmtp::start_on(port).await;
    eventually(
        Duration::from_secs(30),
        "every message delivered",
        || async { (auth.outbox_rows().await == 0).then_some(()) },
    )
    .await;
    let mails = server.messages_to(ADA);
    let verify = mails
        .iter()
        .find(|mail| mail.subject.starts_with("Verify"))
        .expect("the sign-up's mail");
    auth.auth()
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code: verify.code(),
        })
        .await
        .unwrap();
    // The second reset voided the first one's code; its mail is dropped
    // unless it was being sent at that moment. The latest code works.
    let mut reset = false;
    for mail in mails
        .iter()
        .rev()
        .filter(|mail| mail.subject.starts_with("Reset"))
    {
        let request = ResetPasswordRequest {
            email: ADA.into(),
            code: mail.code(),
            new_password: "a brand new passphrase".into(),
        };
        if auth.auth().reset_password(request).await.is_ok() {
            reset = true;
            break;
        }
    }
    assert!(reset, "no mailed reset code worked: {mails:?}");
}

#[tokio::test]
async fn mail_waiting_for_a_mail_server_survives_a_restart_of_the_service() {
    let port = smtp::free_port(); // nothing listens there yet
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let url = smtp_url.clone();
    let auth = TestAuth::start_with(move |config| config.smtp_url = Some(url.into())).await;
    auth.user(ADA).await;
    eventually(Duration::from_secs(10), "a failed delivery", || async {
        (auth.outbox_retries().await > 0).then_some(())
    })
    .await;
    let (database, data_dir) = auth.stop().await;

    let server = smtp::TestSmtp::start_on(port).await;
    let auth = TestAuth::start_on(database, data_dir, move |config| {
        config.smtp_url = Some(smtp_url.into());
    })
    .await;
    let mail = server.wait_for_nth(ADA, 1).await;
    auth.auth()
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code: mail.code(),
        })
        .await
        .expect("the code mailed before the restart works");
    auth.login(ADA, PASSWORD).await.unwrap();
}
