//! Codes never reach the log: every mail flow runs, at the most verbose
//! level, against a real mail server and against `.eml` files, and no code
//! from any mail shows up in what was logged, while the log does say where
//! mail went. One test in its own binary: it installs the process's global
//! subscriber (a thread's own would miss events whose callsites other
//! threads had cached as disabled).

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use proto::auth::v1::{
    RequestPasswordResetRequest, ResetPasswordRequest, SendVerificationEmailRequest,
    VerifyEmailRequest,
};
use support::{TestAuth, bearer};
use testkit::{eventually, smtp};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn codes_are_never_logged_and_the_log_says_where_mail_goes() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only this test sets one");

    let mut codes = Vec::new();

    // Through SMTP: sign-up, a fresh verification email, verification, a
    // reset request and the reset.
    let (auth, server) = TestAuth::start_mailing(|_| {}).await;
    let session = auth.user(ADA).await;
    codes.push(server.wait_for_nth(ADA, 1).await.code());
    auth.auth()
        .send_verification_email(bearer(
            &session.access_token,
            SendVerificationEmailRequest {},
        ))
        .await
        .unwrap();
    let code = server.wait_for_nth(ADA, 2).await.code();
    codes.push(code.clone());
    auth.auth()
        .verify_email(VerifyEmailRequest {
            email: ADA.into(),
            code,
        })
        .await
        .unwrap();
    auth.auth()
        .request_password_reset(RequestPasswordResetRequest { email: ADA.into() })
        .await
        .unwrap();
    let code = server.wait_for_nth(ADA, 3).await.code();
    codes.push(code.clone());
    auth.auth()
        .reset_password(ResetPasswordRequest {
            email: ADA.into(),
            code,
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap();

    // Into files.
    let files = TestAuth::start().await;
    let mail_dir = files.config.storage.data_dir.join("mail");
    files.user(BOB).await;
    let file = eventually(Duration::from_secs(10), "an .eml file", || async {
        std::fs::read_dir(&mail_dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .next()
    })
    .await;
    codes.push(smtp::parse(&std::fs::read(&file).unwrap()).code());

    let log = captured.text();
    assert!(
        log.contains("mail delivered"),
        "nothing was captured?\n{log}"
    );
    assert!(
        log.contains(&format!("{}", mail_dir.display())),
        "the log says where mail is written:\n{log}"
    );
    for code in &codes {
        let compact = code.replace('-', "");
        for form in [code.as_str(), compact.as_str()] {
            assert!(!log.contains(form), "code {form} was logged:\n{log}");
        }
    }
}
