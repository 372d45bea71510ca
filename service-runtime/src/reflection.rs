//! Server reflection in both protocol versions (grpcurl 1.8 and Postman speak
//! only v1alpha), advertising exactly the services a server chooses.

use tonic_reflection::server::{Builder, Error, v1, v1alpha};

const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

fn builder<'a>(descriptors: &'a [u8], services: &[&str]) -> Builder<'a> {
    let builder = Builder::configure()
        .register_encoded_file_descriptor_set(descriptors)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    services
        .iter()
        .chain(&[HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA])
        .fold(builder, |builder, name| builder.with_service_name(*name))
}

/// The v1 and v1alpha reflection services for `descriptors`, listing
/// `services` plus health and reflection themselves, and nothing else.
#[allow(clippy::type_complexity)]
pub fn services(
    descriptors: &'static [u8],
    services: &[&str],
) -> Result<
    (
        v1::ServerReflectionServer<impl v1::ServerReflection>,
        v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>,
    ),
    Error,
> {
    Ok((
        builder(descriptors, services).build_v1()?,
        builder(descriptors, services).build_v1alpha()?,
    ))
}
