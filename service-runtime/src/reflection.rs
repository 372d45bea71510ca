//! Server reflection in both protocol versions (grpcurl 1.8 and Postman speak
//! only v1alpha), describing exactly the services a server chooses: services
//! it does not name, and the messages only they use, are cut out of the
//! descriptors, so an internal API can be neither listed nor described. The
//! `google.rpc` error details are described too, so grpcurl can print them.

use std::collections::{HashMap, HashSet};

use prost::Message as _;
use prost_types::{DescriptorProto, FileDescriptorSet};
use tonic_reflection::server::{Builder, Error, v1, v1alpha};

const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

fn builder(descriptors: &FileDescriptorSet, services: &[&str]) -> Builder<'static> {
    let builder = Builder::configure()
        .register_file_descriptor_set(descriptors.clone())
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    services
        .iter()
        .chain(&[HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA])
        .fold(builder, |builder, name| builder.with_service_name(*name))
}

/// The v1 and v1alpha reflection services for `descriptors`, listing and
/// describing `services` plus health and reflection themselves, and nothing else.
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
    let descriptors = only(descriptors, services)?;
    Ok((
        builder(&descriptors, services).build_v1()?,
        builder(&descriptors, services).build_v1alpha()?,
    ))
}

/// The paths (`/package.Service/Method`) of `services` in `descriptors`,
/// with health's and reflection's own: every call the server answers.
pub fn methods(descriptors: &[u8], services: &[&str]) -> Result<HashSet<String>, Error> {
    let set = FileDescriptorSet::decode(descriptors).map_err(Error::DecodeError)?;
    let mut paths: HashSet<String> = set
        .file
        .iter()
        .flat_map(|file| {
            file.service.iter().filter_map(move |service| {
                let name = qualified(file.package(), service.name());
                services.contains(&name.as_str()).then(|| {
                    service
                        .method
                        .iter()
                        .map(move |method| format!("/{name}/{}", method.name()))
                })
            })
        })
        .flatten()
        .collect();
    paths.extend([
        format!("/{HEALTH}/Check"),
        format!("/{HEALTH}/Watch"),
        format!("/{REFLECTION_V1}/ServerReflectionInfo"),
        format!("/{REFLECTION_V1ALPHA}/ServerReflectionInfo"),
    ]);
    Ok(paths)
}

fn qualified(package: &str, name: &str) -> String {
    if package.is_empty() {
        name.to_owned()
    } else {
        format!("{package}.{name}")
    }
}

/// `descriptors` with only the services named in `services`, and without the
/// messages that only the other services reach.
fn only(descriptors: &[u8], services: &[&str]) -> Result<FileDescriptorSet, Error> {
    let mut set = FileDescriptorSet::decode(descriptors).map_err(Error::DecodeError)?;
    let messages = messages_by_name(&set);
    let (mut kept, mut hidden) = (Vec::new(), Vec::new());
    for file in &set.file {
        for service in &file.service {
            let roots = if services.contains(&qualified(file.package(), service.name()).as_str()) {
                &mut kept
            } else {
                &mut hidden
            };
            for method in &service.method {
                roots.push(method.input_type());
                roots.push(method.output_type());
            }
        }
    }
    let kept = reachable(&messages, kept);
    let hidden = reachable(&messages, hidden);
    for file in &mut set.file {
        let package = file.package().to_owned();
        file.service
            .retain(|service| services.contains(&qualified(&package, service.name()).as_str()));
        file.message_type.retain(|message| {
            let name = qualified(&package, message.name());
            kept.contains(&name) || !hidden.contains(&name)
        });
    }
    Ok(set)
}

/// Every message of `set`, nested ones included, by fully qualified name.
fn messages_by_name(set: &FileDescriptorSet) -> HashMap<String, &DescriptorProto> {
    fn add<'a>(
        prefix: &str,
        messages: &'a [DescriptorProto],
        into: &mut HashMap<String, &'a DescriptorProto>,
    ) {
        for message in messages {
            let name = qualified(prefix, message.name());
            add(&name, &message.nested_type, into);
            into.insert(name, message);
        }
    }
    let mut messages = HashMap::new();
    for file in &set.file {
        add(file.package(), &file.message_type, &mut messages);
    }
    messages
}

/// The messages reached from `roots` (type names as descriptors write them,
/// with a leading dot) through their fields, roots included.
fn reachable(messages: &HashMap<String, &DescriptorProto>, roots: Vec<&str>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut next: Vec<String> = roots
        .into_iter()
        .map(|root| root.trim_start_matches('.').to_owned())
        .collect();
    while let Some(name) = next.pop() {
        if let Some(message) = messages.get(&name)
            && seen.insert(name)
        {
            next.extend(
                message
                    .field
                    .iter()
                    .map(|field| field.type_name().trim_start_matches('.').to_owned())
                    .filter(|name| !name.is_empty()),
            );
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "todo.auth.v1.AuthService";
    const TOKEN: &str = "todo.auth.v1.TokenService";

    fn names(set: &FileDescriptorSet) -> (Vec<String>, Vec<String>) {
        let mut services = Vec::new();
        let mut messages = Vec::new();
        for file in &set.file {
            services.extend(
                file.service
                    .iter()
                    .map(|s| qualified(file.package(), s.name())),
            );
            messages.extend(
                file.message_type
                    .iter()
                    .map(|m| qualified(file.package(), m.name())),
            );
        }
        (services, messages)
    }

    #[test]
    fn unnamed_services_and_the_messages_only_they_use_are_cut_out() {
        let (services, messages) = names(&only(proto::FILE_DESCRIPTOR_SET, &[AUTH]).unwrap());
        assert!(services.contains(&AUTH.to_owned()), "{services:?}");
        assert!(
            !services
                .iter()
                .any(|s| s == TOKEN || s.starts_with("todo.task"))
        );
        for gone in [
            "todo.auth.v1.ValidateTokenRequest",
            "todo.auth.v1.ValidateTokenResponse",
            "todo.task.v1.Task",
        ] {
            assert!(
                !messages.contains(&gone.to_owned()),
                "{gone} is still described"
            );
        }
        // What the kept service's methods use stays, shared messages included.
        for kept in [
            "todo.auth.v1.LoginRequest",
            "todo.auth.v1.User",
            "google.protobuf.Timestamp",
        ] {
            assert!(messages.contains(&kept.to_owned()), "{kept} went missing");
        }
    }

    #[test]
    fn naming_every_service_keeps_everything() {
        let all = FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
        let kept = only(
            proto::FILE_DESCRIPTOR_SET,
            &[
                AUTH,
                TOKEN,
                "todo.auth.v1.AccountEventService",
                "todo.task.v1.TaskService",
            ],
        )
        .unwrap();
        assert_eq!(names(&kept), names(&all));
    }

    #[test]
    fn methods_are_those_of_the_named_services_plus_health_and_reflection() {
        let methods = methods(proto::FILE_DESCRIPTOR_SET, &[AUTH]).unwrap();
        assert!(methods.contains("/todo.auth.v1.AuthService/Login"));
        assert!(methods.contains("/grpc.health.v1.Health/Check"));
        assert!(methods.contains("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
        assert!(!methods.contains("/todo.auth.v1.TokenService/ValidateToken"));
        assert!(!methods.iter().any(|path| path.starts_with("/todo.task")));
    }
}
