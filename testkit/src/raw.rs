//! Calls with message bodies made of arbitrary bytes, as a hostile client
//! sends them: what a server does with input no generated client would
//! produce (truncated fields, wrong wire types, invalid UTF-8 in strings).

use bytes::{Buf, BufMut};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

/// Sends and receives message bodies as raw bytes.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

#[derive(Clone, Copy, Debug, Default)]
struct RawEncoder;

#[derive(Clone, Copy, Debug, Default)]
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// The status of a unary call to `path` (`/package.Service/Method`) whose
/// request body is `body`, with `authorization: Bearer <token>` when given.
/// A server-streaming method counts as answered once its stream opens (the
/// stream is then closed at once).
pub async fn call(channel: Channel, path: String, body: Vec<u8>, bearer: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    if grpc.ready().await.is_err() {
        return Code::Unavailable;
    }
    let mut request = tonic::Request::new(body);
    if let Some(token) = bearer
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    let streaming = path.ends_with("/WatchTasks") || path.ends_with("/WatchAccountEvents");
    let path = http::uri::PathAndQuery::try_from(path).expect("a method path");
    if streaming {
        return match grpc.server_streaming(request, path, RawCodec).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
    }
    match grpc.unary(request, path, RawCodec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// The paths (`/package.Service/Method`) of every method of `services`, read
/// from the contracts' descriptors: an RPC added later is covered without
/// anyone remembering to list it.
pub fn methods(services: &[&str]) -> Vec<String> {
    use prost::Message as _;
    let descriptors = prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET)
        .expect("the contracts' descriptors decode");
    let mut paths = Vec::new();
    for file in &descriptors.file {
        for service in &file.service {
            let name = format!("{}.{}", file.package(), service.name());
            if services.contains(&name.as_str()) {
                paths.extend(
                    service
                        .method
                        .iter()
                        .map(|method| format!("/{name}/{}", method.name())),
                );
            }
        }
    }
    assert!(!paths.is_empty(), "no methods found for {services:?}");
    paths
}

/// Sends `cases` random messages (`message_bytes`) to random `methods` on
/// `channel`, each with a bearer drawn from `bearers`, and panics, naming
/// the input, at the first answer that is a server fault. The channel must
/// have been made inside `runtime`'s context.
pub fn assert_no_server_faults(
    runtime: &tokio::runtime::Runtime,
    channel: &Channel,
    methods: Vec<String>,
    bearers: impl proptest::strategy::Strategy<Value = Option<String>>,
    cases: u32,
) {
    use proptest::{
        prelude::*,
        test_runner::{Config, TestRunner},
    };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(prop::sample::select(methods), message_bytes(), bearers),
            |(method, body, bearer)| {
                let code = runtime.block_on(call(
                    channel.clone(),
                    method.clone(),
                    body,
                    bearer.as_deref(),
                ));
                prop_assert!(!is_server_fault(code), "{method} answered {code:?}");
                Ok(())
            },
        )
        .unwrap();
}

/// Codes that mean the server broke rather than refused: no input may cause them.
pub fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented
    )
}

/// Protobuf-shaped bytes: fields with random numbers and wire types whose
/// contents are random (strings with NUL and any Unicode, invalid UTF-8,
/// nested messages of the same kind, huge varints), sometimes cut short.
/// Most decode into some request, so they reach the handlers, not only the decoder.
pub fn message_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::{collection::vec, prelude::*};

    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    fn encode(fields: &[(u32, Value)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, value) in fields {
            let wire_type = match value {
                Value::Varint(_) => 0,
                Value::Fixed64(_) => 1,
                Value::Bytes(_) => 2,
                Value::Fixed32(_) => 5,
            };
            varint(u64::from(*number) << 3 | wire_type, &mut out);
            match value {
                Value::Varint(v) => varint(*v, &mut out),
                Value::Fixed64(v) => out.extend_from_slice(&v.to_le_bytes()),
                Value::Fixed32(v) => out.extend_from_slice(&v.to_le_bytes()),
                Value::Bytes(bytes) => {
                    varint(bytes.len() as u64, &mut out);
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    #[derive(Clone, Debug)]
    enum Value {
        Varint(u64),
        Fixed64(u64),
        Fixed32(u32),
        Bytes(Vec<u8>),
    }

    let text = prop_oneof![
        "\\PC{0,40}".prop_map(String::into_bytes),
        "[a-z]{1,12}@[a-z]{1,8}\\.[a-z]{2,3}".prop_map(String::into_bytes),
        "(title|due_time|create_time|priority|completed|tags|description)( (asc|desc))?"
            .prop_map(String::into_bytes),
        vec(any::<u8>(), 0..64),
        (0usize..3).prop_map(|n| vec![0; n]),
        (1usize..70_000).prop_map(|n| vec![b'x'; n]),
    ];
    let scalar = prop_oneof![
        any::<u64>().prop_map(Value::Varint),
        (0u64..10).prop_map(Value::Varint),
        any::<u64>().prop_map(Value::Fixed64),
        any::<u32>().prop_map(Value::Fixed32),
    ];
    let leaf = prop_oneof![scalar.clone(), text.clone().prop_map(Value::Bytes)];
    let nested =
        vec((1u32..12, leaf.clone()), 0..6).prop_map(|fields| Value::Bytes(encode(&fields)));
    let value = prop_oneof![3 => leaf, 2 => nested];
    let message = vec((1u32..12, value), 0..8).prop_map(|fields| encode(&fields));
    prop_oneof![
        4 => message.clone(),
        1 => (message, any::<prop::sample::Index>()).prop_map(|(bytes, cut)| {
            let at = if bytes.is_empty() { 0 } else { cut.index(bytes.len()) };
            bytes[..at].to_vec()
        }),
        1 => vec(any::<u8>(), 0..128),
    ]
}
