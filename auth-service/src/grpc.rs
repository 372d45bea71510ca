//! The gRPC face of the auth service: `AuthService` (public), and
//! `TokenService` and `AccountEventService` (internal). Each handler parses
//! the request into domain types, calls `Accounts`, and translates the
//! result back.

use std::{pin::Pin, sync::Arc};

use proto::auth::v1::{
    AccountEvent as ProtoAccountEvent, ChangePasswordRequest, ChangePasswordResponse,
    DeleteAccountRequest, DeleteAccountResponse, GetCurrentUserRequest, GetCurrentUserResponse,
    ListSecurityEventsRequest, ListSecurityEventsResponse, ListSessionsRequest,
    ListSessionsResponse, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse,
    RefreshRequest, RefreshResponse, RequestPasswordResetRequest, RequestPasswordResetResponse,
    ResetPasswordRequest, ResetPasswordResponse, RevokeOtherSessionsRequest,
    RevokeOtherSessionsResponse, RevokeSessionRequest, RevokeSessionResponse,
    SecurityEvent as ProtoSecurityEvent, SendVerificationEmailRequest,
    SendVerificationEmailResponse, Session as ProtoSession, SignUpRequest, SignUpResponse,
    User as ProtoUser, ValidateTokenRequest, ValidateTokenResponse, VerifyEmailRequest,
    VerifyEmailResponse, WatchAccountEventsRequest, WatchAccountEventsResponse, account_event,
    account_event_service_server::AccountEventService, auth_service_server::AuthService,
    security_event::Kind, token_service_server::TokenService,
};
use proto::prost_types::Timestamp;
use secrecy::SecretString;
use service_runtime::client_address::ClientAddress;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, metadata::MetadataMap};

use crate::{
    account_events::{AccountEvent, AccountEventKind},
    accounts::{Accounts, Bearer, Tokens},
    activity::{EventKind, Origin},
    code::Code,
    email::Email,
    error::Error,
    password::Password,
    user::User,
};

/// Longest access token looked at. Ours are under 2 KiB even with a
/// 254-character email; anything longer is refused before it is parsed.
pub const ACCESS_TOKEN_MAX_BYTES: usize = 4096;
/// Refresh tokens are 43 characters; anything longer is not one of ours.
const REFRESH_TOKEN_MAX_BYTES: usize = 128;
/// Session ids are UUIDs (36 characters); anything longer names no session.
const SESSION_ID_MAX_BYTES: usize = 64;
/// A password of at most 128 characters (the sign-up rule) is at most 512
/// bytes; a longer one cannot be anyone's, and is not hashed.
const PASSWORD_MAX_BYTES: usize = 512;

/// Refuses a password too long to be one, before it reaches the hasher.
fn bounded_password(raw: &str, field: &'static str) -> Result<(), Error> {
    if raw.len() > PASSWORD_MAX_BYTES {
        return Err(Error::invalid(field, "must be at most 128 characters"));
    }
    Ok(())
}

/// Implements the three services over one shared `Accounts`.
#[derive(Debug, Clone)]
pub struct AuthApi {
    accounts: Arc<Accounts>,
}

impl AuthApi {
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self { accounts }
    }

    /// Where the request came from: the client's address, as throttles count
    /// it (see `TRUSTED_PROXIES`), and its user agent.
    fn origin<T>(request: &Request<T>) -> Origin {
        Origin::new(
            ClientAddress::of(request.extensions()),
            request.metadata().as_ref(),
        )
    }

    /// The caller of a bearer-protected RPC, from `authorization: Bearer <token>`.
    async fn bearer(&self, metadata: &MetadataMap) -> Result<Bearer, Error> {
        let token = service_runtime::bearer::token(metadata.as_ref())
            .map_err(|error| Error::unauthenticated(error.to_string()))?;
        if token.len() > ACCESS_TOKEN_MAX_BYTES {
            return Err(Error::unauthenticated("invalid access token"));
        }
        let bearer = self.accounts.authenticate(token).await?;
        tracing::Span::current().record("user_id", bearer.user.id.as_str());
        Ok(bearer)
    }
}

fn timestamp(unix_seconds: i64) -> Timestamp {
    Timestamp {
        seconds: unix_seconds,
        nanos: 0,
    }
}

fn proto_user(user: &User) -> ProtoUser {
    ProtoUser {
        id: user.id.clone(),
        email: user.email.clone(),
        create_time: Some(timestamp(user.create_time)),
        email_verified: user.email_verified,
    }
}

/// Login and Refresh answer with the same fields in two messages of their own.
macro_rules! tokens_response {
    ($message:ident, $tokens:expr, $accounts:expr) => {{
        let tokens: Tokens = $tokens;
        $message {
            access_token: tokens.access.token,
            token_type: "bearer".to_owned(),
            expires_in: i64::try_from($accounts.access_token_ttl().as_secs()).unwrap_or(i64::MAX),
            refresh_token: tokens.refresh_token,
            user: Some(proto_user(&tokens.user)),
        }
    }};
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn sign_up(
        &self,
        request: Request<SignUpRequest>,
    ) -> Result<Response<SignUpResponse>, Status> {
        let origin = Self::origin(&request);
        let SignUpRequest { email, password } = request.into_inner();
        let email = Email::parse(&email)?;
        let password = Password::parse(password, &email, "password")?;
        let created = self.accounts.sign_up(email, password, &origin).await?;
        Ok(Response::new(SignUpResponse {
            user: Some(proto_user(&created)),
        }))
    }

    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let origin = Self::origin(&request);
        let LoginRequest { email, password } = request.into_inner();
        // A malformed email is refused before anything is counted or stored.
        let email = Email::parse(&email)?;
        bounded_password(&password, "password")?;
        let tokens = self
            .accounts
            .login(&email, SecretString::from(password), &origin)
            .await?;
        Ok(Response::new(tokens_response!(
            LoginResponse,
            tokens,
            self.accounts
        )))
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        let origin = Self::origin(&request);
        let RefreshRequest { refresh_token } = request.into_inner();
        if refresh_token.len() > REFRESH_TOKEN_MAX_BYTES {
            return Err(
                Error::unauthenticated("invalid or expired refresh token; log in again").into(),
            );
        }
        let tokens = self.accounts.refresh(&refresh_token, &origin).await?;
        Ok(Response::new(tokens_response!(
            RefreshResponse,
            tokens,
            self.accounts
        )))
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        self.accounts
            .logout(&bearer, &Self::origin(&request))
            .await?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn get_current_user(
        &self,
        request: Request<GetCurrentUserRequest>,
    ) -> Result<Response<GetCurrentUserResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        Ok(Response::new(GetCurrentUserResponse {
            user: Some(proto_user(&bearer.user)),
        }))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let origin = Self::origin(&request);
        let ChangePasswordRequest {
            current_password,
            new_password,
        } = request.into_inner();
        bounded_password(&current_password, "current_password")?;
        self.accounts
            .change_password(
                &bearer,
                SecretString::from(current_password),
                new_password,
                &origin,
            )
            .await?;
        Ok(Response::new(ChangePasswordResponse {}))
    }

    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Result<Response<ListSessionsResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let sessions = self.accounts.sessions(&bearer).await?;
        Ok(Response::new(ListSessionsResponse {
            sessions: sessions
                .into_iter()
                .map(|(session, current)| ProtoSession {
                    id: session.id,
                    create_time: Some(timestamp(session.create_time)),
                    last_use_time: Some(timestamp(session.last_use_time)),
                    client_address: session.client_address,
                    user_agent: session.user_agent,
                    current,
                })
                .collect(),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<RevokeSessionRequest>,
    ) -> Result<Response<RevokeSessionResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let origin = Self::origin(&request);
        let RevokeSessionRequest { session_id } = request.into_inner();
        if session_id.is_empty() {
            return Err(
                Error::invalid("session_id", "is required; ListSessions shows them").into(),
            );
        }
        if session_id.len() > SESSION_ID_MAX_BYTES {
            return Err(Error::SessionNotFound.into());
        }
        self.accounts
            .revoke_session(&bearer, &session_id, &origin)
            .await?;
        Ok(Response::new(RevokeSessionResponse {}))
    }

    async fn revoke_other_sessions(
        &self,
        request: Request<RevokeOtherSessionsRequest>,
    ) -> Result<Response<RevokeOtherSessionsResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let revoked = self
            .accounts
            .revoke_other_sessions(&bearer, &Self::origin(&request))
            .await?;
        Ok(Response::new(RevokeOtherSessionsResponse {
            revoked_count: i32::try_from(revoked).unwrap_or(i32::MAX),
        }))
    }

    async fn list_security_events(
        &self,
        request: Request<ListSecurityEventsRequest>,
    ) -> Result<Response<ListSecurityEventsResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let ListSecurityEventsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let (events, next_page_token) = self
            .accounts
            .security_events(&bearer, page_size, &page_token)
            .await?;
        Ok(Response::new(ListSecurityEventsResponse {
            events: events
                .into_iter()
                .map(|event| ProtoSecurityEvent {
                    kind: proto_kind(event.kind).into(),
                    create_time: Some(timestamp(event.create_time)),
                    client_address: event.client_address,
                    user_agent: event.user_agent,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn request_password_reset(
        &self,
        request: Request<RequestPasswordResetRequest>,
    ) -> Result<Response<RequestPasswordResetResponse>, Status> {
        let origin = Self::origin(&request);
        let email = Email::parse(&request.into_inner().email)?;
        self.accounts.request_password_reset(email, origin).await?;
        Ok(Response::new(RequestPasswordResetResponse {}))
    }

    async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<Response<ResetPasswordResponse>, Status> {
        let origin = Self::origin(&request);
        let ResetPasswordRequest {
            email,
            code,
            new_password,
        } = request.into_inner();
        let email = Email::parse(&email)?;
        let code = Code::parse(&code)?;
        let new_password = Password::parse(new_password, &email, "new_password")?;
        self.accounts
            .reset_password(&email, &code, new_password, &origin)
            .await?;
        Ok(Response::new(ResetPasswordResponse {}))
    }

    async fn send_verification_email(
        &self,
        request: Request<SendVerificationEmailRequest>,
    ) -> Result<Response<SendVerificationEmailResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        self.accounts
            .send_verification_email(&bearer, &Self::origin(&request))
            .await?;
        Ok(Response::new(SendVerificationEmailResponse {}))
    }

    async fn verify_email(
        &self,
        request: Request<VerifyEmailRequest>,
    ) -> Result<Response<VerifyEmailResponse>, Status> {
        let origin = Self::origin(&request);
        let VerifyEmailRequest { email, code } = request.into_inner();
        let email = Email::parse(&email)?;
        let code = Code::parse(&code)?;
        let user = self.accounts.verify_email(&email, &code, &origin).await?;
        Ok(Response::new(VerifyEmailResponse {
            user: Some(proto_user(&user)),
        }))
    }

    async fn delete_account(
        &self,
        request: Request<DeleteAccountRequest>,
    ) -> Result<Response<DeleteAccountResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let origin = Self::origin(&request);
        let DeleteAccountRequest { password } = request.into_inner();
        if password.is_empty() {
            return Err(Error::invalid("password", "is required to delete the account").into());
        }
        bounded_password(&password, "password")?;
        self.accounts
            .delete_account(&bearer, SecretString::from(password), &origin)
            .await?;
        Ok(Response::new(DeleteAccountResponse {}))
    }
}

fn proto_kind(kind: EventKind) -> Kind {
    match kind {
        EventKind::SignUp => Kind::SignUp,
        EventKind::Login => Kind::Login,
        EventKind::LoginFailed => Kind::LoginFailed,
        EventKind::Logout => Kind::Logout,
        EventKind::RefreshReuseDetected => Kind::RefreshReuseDetected,
        EventKind::PasswordChanged => Kind::PasswordChanged,
        EventKind::SessionRevoked => Kind::SessionRevoked,
        EventKind::PasswordResetRequested => Kind::PasswordResetRequested,
        EventKind::PasswordReset => Kind::PasswordReset,
        EventKind::EmailVerified => Kind::EmailVerified,
    }
}

#[tonic::async_trait]
impl TokenService for AuthApi {
    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        // The bare token, as the contract says: no `Bearer ` prefix.
        let token = request.into_inner().access_token;
        if token.is_empty() {
            return Err(Error::unauthenticated("access_token is required").into());
        }
        if token.len() > ACCESS_TOKEN_MAX_BYTES {
            return Err(Error::unauthenticated("invalid access token").into());
        }
        let bearer = self.accounts.authenticate(&token).await?;
        tracing::Span::current().record("user_id", bearer.user.id.as_str());
        Ok(Response::new(ValidateTokenResponse {
            user_id: bearer.user.id,
            email: bearer.user.email,
            session_id: bearer.claims.sid,
            expire_time: Some(timestamp(bearer.claims.exp)),
        }))
    }
}

type AccountEventStream =
    Pin<Box<dyn Stream<Item = Result<WatchAccountEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AccountEventService for AuthApi {
    type WatchAccountEventsStream = AccountEventStream;

    async fn watch_account_events(
        &self,
        request: Request<WatchAccountEventsRequest>,
    ) -> Result<Response<AccountEventStream>, Status> {
        let WatchAccountEventsRequest { after } = request.into_inner();
        let events = self.accounts.account_events().watch(after)?;
        Ok(Response::new(Box::pin(events.map(|event| {
            event
                .map(|event| WatchAccountEventsResponse {
                    event: Some(proto_account_event(event)),
                })
                .map_err(Status::from)
        }))))
    }
}

fn proto_account_event(event: AccountEvent) -> ProtoAccountEvent {
    let kind = match event.kind {
        Some(AccountEventKind::AccountDeleted) => account_event::Kind::AccountDeleted,
        // Written by a newer version: the follower only moves past it.
        None => account_event::Kind::Unspecified,
    };
    ProtoAccountEvent {
        sequence: event.sequence,
        kind: kind.into(),
        user_id: event.user_id,
        create_time: Some(timestamp(event.create_time)),
    }
}
