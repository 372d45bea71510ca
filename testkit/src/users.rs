//! Signing test users up and in through any `AuthService` client (native
//! gRPC or grpc-web, to the service or through the gateway).

use proto::auth::v1::{
    LoginRequest, LoginResponse, SignUpRequest, auth_service_client::AuthServiceClient,
};
use tonic::{Status, client::GrpcService, codegen::StdError};

/// The password every test user gets: long enough and on no common list.
pub const PASSWORD: &str = "correct horse battery";

/// Sign-up and login for tests, on any transport.
pub trait TestUsers {
    /// Signs `email` up with [`PASSWORD`] and logs in; panics if either fails.
    fn sign_up_and_log_in(&mut self, email: &str) -> impl Future<Output = LoginResponse>;

    /// Logs `email` in with `password`.
    fn log_in(
        &mut self,
        email: &str,
        password: &str,
    ) -> impl Future<Output = Result<LoginResponse, Status>>;
}

impl<T> TestUsers for AuthServiceClient<T>
where
    T: GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    async fn sign_up_and_log_in(&mut self, email: &str) -> LoginResponse {
        self.sign_up(SignUpRequest {
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_or_else(|status| panic!("sign-up of {email} failed: {status:?}"));
        self.log_in(email, PASSWORD)
            .await
            .unwrap_or_else(|status| panic!("login of {email} failed: {status:?}"))
    }

    async fn log_in(&mut self, email: &str, password: &str) -> Result<LoginResponse, Status> {
        self.login(LoginRequest {
            email: email.into(),
            password: password.into(),
        })
        .await
        .map(tonic::Response::into_inner)
    }
}
