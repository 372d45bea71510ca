//! Access-token validation, through ValidateToken (what other services call)
//! and GetCurrentUser (a bearer RPC): every kind of bad token is refused with
//! UNAUTHENTICATED, and tokens of the previous secret are still accepted.

mod support;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use proto::auth::v1::{GetCurrentUserRequest, ValidateTokenRequest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{SECRET, TestAuth, bearer};
use tonic::{Code, Request};

fn kid(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

/// The claims of `token` (a JWT the service issued), to re-sign altered copies.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid(secret));
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn validate(
    auth: &TestAuth,
    token: &str,
) -> Result<proto::auth::v1::ValidateTokenResponse, tonic::Status> {
    auth.tokens()
        .validate_token(ValidateTokenRequest {
            access_token: token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn assert_refused(auth: &TestAuth, token: &str, what: &str) {
    let error = validate(auth, token).await.unwrap_err();
    assert_eq!(
        error.code(),
        Code::Unauthenticated,
        "ValidateToken accepted {what}"
    );
    let error = auth
        .auth()
        .get_current_user(bearer(token, GetCurrentUserRequest {}))
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Code::Unauthenticated,
        "GetCurrentUser accepted {what}"
    );
}

#[tokio::test]
async fn a_valid_token_says_whose_it_is() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let user = login.user.unwrap();
    let valid = validate(&auth, &login.access_token).await.unwrap();
    assert_eq!(valid.user_id, user.id);
    assert_eq!(valid.email, "ada@example.com");
    assert!(!valid.session_id.is_empty());
    let claims = claims_of(&login.access_token);
    assert_eq!(
        valid.expire_time.unwrap().seconds,
        claims["exp"].as_i64().unwrap()
    );
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["sid"], valid.session_id.as_str());
    let current = auth
        .auth()
        .get_current_user(bearer(&login.access_token, GetCurrentUserRequest {}))
        .await
        .unwrap();
    assert_eq!(current.into_inner().user.unwrap().id, user.id);
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_header_is_unauthenticated() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let error = auth
        .auth()
        .get_current_user(Request::new(GetCurrentUserRequest {}))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(
        error.message().contains("authorization"),
        "{}",
        error.message()
    );
    let mut request = Request::new(GetCurrentUserRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Basic {}", login.access_token).parse().unwrap(),
    );
    assert_eq!(
        auth.auth()
            .get_current_user(request)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        validate(&auth, "").await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused() {
    let auth = TestAuth::start().await;
    let login = auth.user("ada@example.com").await;
    let claims = claims_of(&login.access_token);

    assert_refused(&auth, "not-a-jwt", "a malformed token").await;
    assert_refused(&auth, "a.b.c", "three garbage segments").await;

    let mut tampered_claims = claims.clone();
    tampered_claims["email"] = json!("mallory@example.com");
    let parts: Vec<&str> = login.access_token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(tampered_claims.to_string()),
        parts[2]
    );
    assert_refused(&auth, &tampered, "a tampered payload").await;

    let other_secret = "another-secret-that-is-long-enough-9876543210";
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid(SECRET)); // claims to be ours, signed with another key
    let bad_signature = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(other_secret.as_bytes()),
    )
    .unwrap();
    assert_refused(&auth, &bad_signature, "a bad signature").await;

    let none_header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "typ": "JWT", "kid": kid(SECRET)}).to_string());
    let unsigned = format!(
        "{none_header}.{}.",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_refused(&auth, &unsigned, "alg: none").await;

    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        assert_refused(
            &auth,
            &sign(&claims, algorithm, SECRET),
            &format!("{algorithm:?}"),
        )
        .await;
    }

    let mut expired = claims.clone();
    expired["iat"] = json!(claims["iat"].as_i64().unwrap() - 7200);
    expired["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    assert_refused(
        &auth,
        &sign(&expired, Algorithm::HS256, SECRET),
        "an expired token",
    )
    .await;

    let mut wrong_issuer = claims.clone();
    wrong_issuer["iss"] = json!("someone-else");
    assert_refused(
        &auth,
        &sign(&wrong_issuer, Algorithm::HS256, SECRET),
        "a wrong iss",
    )
    .await;

    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("another-api");
    assert_refused(
        &auth,
        &sign(&wrong_audience, Algorithm::HS256, SECRET),
        "a wrong aud",
    )
    .await;

    let mut unknown_session = claims.clone();
    unknown_session["sid"] = json!(uuid::Uuid::now_v7().to_string());
    assert_refused(
        &auth,
        &sign(&unknown_session, Algorithm::HS256, SECRET),
        "an unknown session",
    )
    .await;

    // The untouched token, re-signed properly, is still fine: the checks above
    // failed for the reason each one names.
    validate(&auth, &sign(&claims, Algorithm::HS256, SECRET))
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens_signed_with_the_previous_secret_are_still_accepted() {
    let old_secret = "the-previous-secret-still-long-enough-000000";
    let auth =
        TestAuth::start_with(|config| config.jwt_secret_previous = Some(old_secret.into())).await;
    let login = auth.user("ada@example.com").await;
    let claims = claims_of(&login.access_token);
    let old_token = sign(&claims, Algorithm::HS256, old_secret);
    assert_eq!(
        validate(&auth, &old_token).await.unwrap().email,
        "ada@example.com"
    );
    // New tokens carry the current key's id.
    let header = jsonwebtoken::decode_header(&login.access_token).unwrap();
    assert_eq!(header.kid.unwrap(), kid(SECRET));
}
