// A ConnectError as the browser gets it from our servers: encoded by the gRPC
// rules (grpc-status, grpc-message and the google.rpc.Status with its details
// in grpc-status-details-bin) and decoded by Connect-ES's own grpc-web transport.
import { type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { type Code, ConnectError, createClient } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../src/gen/todo/auth/v1/auth_pb";

export interface Detail<Desc extends DescMessage = DescMessage> {
  desc: Desc;
  value: MessageInitShape<Desc>;
}

export async function serverError(message: string, code: Code, details: Detail[] = []): Promise<ConnectError> {
  // A trailers-only answer: the status travels in the response headers.
  const headers = setTrailerStatus(new Headers({ "content-type": "application/grpc-web+proto" }), new ConnectError(message, code, undefined, details));
  const transport = createGrpcWebTransport({ baseUrl: "http://server.test", fetch: async () => new Response(null, { status: 200, headers }) });
  try {
    await createClient(AuthService, transport).login({});
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
  throw new Error("the call succeeded");
}
