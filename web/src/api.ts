// The two public services over grpc-web, through the gateway at this page's origin.
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService, type LoginResponse, type RefreshResponse } from "./gen/todo/auth/v1/auth_pb";
import { TaskService } from "./gen/todo/task/v1/task_pb";
import { Session, type Tokens } from "./session";

const transport = createGrpcWebTransport({ baseUrl: location.origin, useBinaryFormat: true });

export const auth = createClient(AuthService, transport);
export const tasks = createClient(TaskService, transport);

export function tokensFrom(response: LoginResponse | RefreshResponse, email: string): Tokens {
  return {
    accessToken: response.accessToken,
    refreshToken: response.refreshToken,
    expiresAt: Date.now() + Number(response.expiresIn) * 1000,
    email,
  };
}

export const session = new Session(localStorage, async (refreshToken) => {
  const response = await auth.refresh({ refreshToken });
  return tokensFrom(response, response.user?.email ?? "");
});

/** Call options carrying the session's bearer token. */
export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}
