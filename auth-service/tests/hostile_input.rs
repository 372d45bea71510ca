//! Input no honest client sends, against the real auth service: fields far
//! beyond their limits are refused before any hashing or parsing (and quickly,
//! while another user logs in), and random messages on every RPC are always
//! answered with a client error, never a server fault or a panic.

mod support;

use std::time::Duration;

use proto::auth::v1::{
    ChangePasswordRequest, LoginRequest, RefreshRequest, SignUpRequest, ValidateTokenRequest,
};
use support::{TestAuth, bearer};
use testkit::raw;
use tonic::{Code, Status};

/// Longer than any refusal of oversized input may take: a failure detector
/// for work done on unchecked input (an argon2 hash of 60 KiB, say), not a speed target.
const DEADLINE: Duration = Duration::from_secs(5);

/// Just under the service's 64 KiB message limit, so the handler sees it.
fn huge() -> String {
    "x".repeat(60 * 1024)
}

fn code<T>(result: Result<T, Status>) -> Code {
    result.err().map_or(Code::Ok, |status| status.code())
}

#[tokio::test]
async fn huge_fields_are_refused_before_any_work_while_another_user_logs_in() {
    let auth = TestAuth::start().await;
    let mallory = auth.user("mallory@example.com").await;
    auth.user("bystander@example.com").await;
    let attack = async {
        let email = format!("{}@example.com", huge());
        let mut client = auth.auth();
        for (what, code) in [
            (
                "sign-up email",
                code(
                    client
                        .sign_up(SignUpRequest {
                            email: email.clone(),
                            password: "p".into(),
                        })
                        .await,
                ),
            ),
            (
                "sign-up password",
                code(
                    client
                        .sign_up(SignUpRequest {
                            email: "new@example.com".into(),
                            password: huge(),
                        })
                        .await,
                ),
            ),
            (
                "login email",
                code(
                    client
                        .login(LoginRequest {
                            email,
                            password: "p".into(),
                        })
                        .await,
                ),
            ),
            (
                "login password",
                code(
                    client
                        .login(LoginRequest {
                            email: "mallory@example.com".into(),
                            password: huge(),
                        })
                        .await,
                ),
            ),
            (
                "new password",
                code(
                    client
                        .change_password(bearer(
                            &mallory.access_token,
                            ChangePasswordRequest {
                                current_password: support::PASSWORD.into(),
                                new_password: huge(),
                            },
                        ))
                        .await,
                ),
            ),
            (
                "current password",
                code(
                    client
                        .change_password(bearer(
                            &mallory.access_token,
                            ChangePasswordRequest {
                                current_password: huge(),
                                new_password: "another good passphrase".into(),
                            },
                        ))
                        .await,
                ),
            ),
        ] {
            assert_eq!(code, Code::InvalidArgument, "{what}");
        }
        let refresh = client
            .refresh(RefreshRequest {
                refresh_token: huge(),
            })
            .await;
        assert_eq!(code(refresh), Code::Unauthenticated, "refresh token");
        let validate = auth
            .tokens()
            .validate_token(ValidateTokenRequest {
                access_token: huge(),
            })
            .await;
        assert_eq!(code(validate), Code::Unauthenticated, "access token");
        let too_big = format!("{}@example.com", "x".repeat(70 * 1024));
        let oversized = client
            .login(LoginRequest {
                email: too_big,
                password: "p".into(),
            })
            .await;
        assert_eq!(
            code(oversized),
            Code::ResourceExhausted,
            "a message over 64 KiB"
        );
    };
    let bystander = async {
        for _ in 0..3 {
            tokio::time::timeout(
                DEADLINE,
                auth.login("bystander@example.com", support::PASSWORD),
            )
            .await
            .expect("the other user's login waited past the deadline")
            .unwrap();
        }
    };
    tokio::time::timeout(DEADLINE * 4, async { tokio::join!(attack, bystander) })
        .await
        .expect("huge fields were worked on instead of refused");
    // The attacker's own account is unchanged: its password still works.
    auth.login("mallory@example.com", support::PASSWORD)
        .await
        .unwrap();
}

#[test]
fn random_messages_on_every_rpc_are_client_errors_never_server_faults() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Channels connect on the runtime's tasks, also when made outside `block_on`.
    let _runtime = runtime.enter();
    let (auth, token) = runtime.block_on(async {
        // Room for the sign-ups and failed logins random input makes.
        let auth = TestAuth::start_with(|config| {
            config.signup_max_per_address = 10_000;
            config.login_max_failures_per_address = 10_000;
            // Every call is to reach a handler, however fast they come.
            config.server.max_calls_per_second_per_address = 0;
        })
        .await;
        let token = auth.user("fuzz@example.com").await.access_token;
        (auth, token)
    });
    let bearers = || {
        prop_oneof![
            Just(None),
            Just(Some(token.clone())),
            "\\PC{0,60}".prop_map(Some)
        ]
    };
    let public = raw::methods(&["todo.auth.v1.AuthService"]);
    raw::assert_no_server_faults(&runtime, &auth.channel(), public, bearers(), 400);
    let internal = raw::methods(&[
        "todo.auth.v1.TokenService",
        "todo.auth.v1.AccountEventService",
    ]);
    raw::assert_no_server_faults(&runtime, &auth.internal_channel(), internal, bearers(), 200);
    // And the service still serves.
    runtime.block_on(async {
        auth.login("fuzz@example.com", support::PASSWORD)
            .await
            .unwrap();
    });
}
