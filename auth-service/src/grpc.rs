//! The gRPC face of the auth service: `AuthService` (public) and
//! `TokenService` (internal). Each handler parses the request into domain
//! types, calls `Accounts`, and translates the result back.

use std::sync::Arc;

use proto::auth::v1::{
    ChangePasswordRequest, ChangePasswordResponse, GetCurrentUserRequest, GetCurrentUserResponse,
    LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, RefreshRequest, RefreshResponse,
    SignUpRequest, SignUpResponse, User, ValidateTokenRequest, ValidateTokenResponse,
    auth_service_server::AuthService, token_service_server::TokenService,
};
use proto::prost_types::Timestamp;
use secrecy::SecretString;
use tonic::{Request, Response, Status, metadata::MetadataMap};

use crate::{
    accounts::{Accounts, Bearer, Tokens},
    email::Email,
    error::Error,
    password::Password,
    store::UserRow,
};

/// Implements both services over one shared `Accounts`.
#[derive(Debug, Clone)]
pub struct AuthApi {
    accounts: Arc<Accounts>,
}

impl AuthApi {
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self { accounts }
    }

    /// The caller of a bearer-protected RPC, from `authorization: Bearer <token>`.
    async fn bearer(&self, metadata: &MetadataMap) -> Result<Bearer, Error> {
        let token = bearer_token(metadata)?;
        let bearer = self.accounts.authenticate(token).await?;
        tracing::Span::current().record("user_id", bearer.user.id.as_str());
        Ok(bearer)
    }
}

/// Extracts the token from `authorization: Bearer <token>`.
pub fn bearer_token(metadata: &MetadataMap) -> Result<&str, Error> {
    let value = metadata.get("authorization").ok_or(Error::Unauthenticated(
        "missing authorization metadata; send `authorization: Bearer <access_token>`",
    ))?;
    let value = value
        .to_str()
        .map_err(|_| Error::Unauthenticated("malformed authorization metadata"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Error::Unauthenticated(
            "authorization metadata must be `Bearer <access_token>`",
        )),
    }
}

fn timestamp(unix_seconds: i64) -> Timestamp {
    Timestamp {
        seconds: unix_seconds,
        nanos: 0,
    }
}

fn user(row: &UserRow) -> User {
    User {
        id: row.id.clone(),
        email: row.email.clone(),
        create_time: Some(timestamp(row.create_time)),
    }
}

/// The fields Login and Refresh both return.
struct TokenFields {
    access_token: String,
    token_type: String,
    expires_in: i64,
    refresh_token: String,
    user: Option<User>,
}

impl TokenFields {
    fn new(tokens: Tokens, accounts: &Accounts) -> Self {
        Self {
            access_token: tokens.access.token,
            token_type: "bearer".to_owned(),
            expires_in: i64::try_from(accounts.access_token_ttl().as_secs()).unwrap_or(i64::MAX),
            refresh_token: tokens.refresh_token,
            user: Some(user(&tokens.user)),
        }
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn sign_up(
        &self,
        request: Request<SignUpRequest>,
    ) -> Result<Response<SignUpResponse>, Status> {
        let SignUpRequest { email, password } = request.into_inner();
        let email = Email::parse(&email)?;
        let password = Password::parse(password, &email, "password")?;
        let created = self.accounts.sign_up(email, password).await?;
        Ok(Response::new(SignUpResponse {
            user: Some(user(&created)),
        }))
    }

    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let LoginRequest { email, password } = request.into_inner();
        let tokens = self
            .accounts
            .login(&email, SecretString::from(password))
            .await?;
        let fields = TokenFields::new(tokens, &self.accounts);
        Ok(Response::new(LoginResponse {
            access_token: fields.access_token,
            token_type: fields.token_type,
            expires_in: fields.expires_in,
            refresh_token: fields.refresh_token,
            user: fields.user,
        }))
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        let tokens = self
            .accounts
            .refresh(&request.into_inner().refresh_token)
            .await?;
        let fields = TokenFields::new(tokens, &self.accounts);
        Ok(Response::new(RefreshResponse {
            access_token: fields.access_token,
            token_type: fields.token_type,
            expires_in: fields.expires_in,
            refresh_token: fields.refresh_token,
            user: fields.user,
        }))
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        self.accounts.logout(&bearer).await?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn get_current_user(
        &self,
        request: Request<GetCurrentUserRequest>,
    ) -> Result<Response<GetCurrentUserResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        Ok(Response::new(GetCurrentUserResponse {
            user: Some(user(&bearer.user)),
        }))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let bearer = self.bearer(request.metadata()).await?;
        let ChangePasswordRequest {
            current_password,
            new_password,
        } = request.into_inner();
        self.accounts
            .change_password(&bearer, SecretString::from(current_password), new_password)
            .await?;
        Ok(Response::new(ChangePasswordResponse {}))
    }
}

#[tonic::async_trait]
impl TokenService for AuthApi {
    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        let token = request.into_inner().access_token;
        let token = token.strip_prefix("Bearer ").unwrap_or(&token);
        if token.is_empty() {
            return Err(Error::Unauthenticated("access_token is required").into());
        }
        let bearer = self.accounts.authenticate(token).await?;
        tracing::Span::current().record("user_id", bearer.user.id.as_str());
        Ok(Response::new(ValidateTokenResponse {
            user_id: bearer.user.id,
            email: bearer.user.email,
            session_id: bearer.claims.sid,
            expire_time: Some(timestamp(bearer.claims.exp)),
        }))
    }
}
