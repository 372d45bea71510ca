// The two public services as clients over one transport, and the tokens a
// login or refresh answer carries.
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { AuthService, type LoginResponse, type RefreshResponse } from "./gen/todo/auth/v1/auth_pb";
import { TaskService } from "./gen/todo/task/v1/task_pb";
import { type Refresher, type Tokens } from "./session";

export interface Api {
  auth: Client<typeof AuthService>;
  tasks: Client<typeof TaskService>;
}

export function createApi(transport: Transport): Api {
  return { auth: createClient(AuthService, transport), tasks: createClient(TaskService, transport) };
}

export function tokensFrom(response: LoginResponse | RefreshResponse, email: string, now = Date.now()): Tokens {
  return {
    accessToken: response.accessToken,
    refreshToken: response.refreshToken,
    expiresAt: now + Number(response.expiresIn) * 1000,
    email,
  };
}

/** Refreshes through `auth`, which must not be signed by the session it refreshes. */
export function refresher(auth: Pick<Client<typeof AuthService>, "refresh">): Refresher {
  return async (refreshToken) => {
    const response = await auth.refresh({ refreshToken });
    return tokensFrom(response, response.user?.email ?? "");
  };
}
