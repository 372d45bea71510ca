// The one place RPCs meet the session: an interceptor that signs every call
// that needs it with the access token (refreshed first when about to expire)
// and, when the server refuses the session even after a refresh, ends it, so
// whatever screen made the call, the user is sent to sign in.
import { type DescMethod } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "./gen/todo/auth/v1/auth_pb";
import { type Session } from "./session";

/**
 * The calls that need no session, so they carry no token and a refusal ends
 * nothing: those that start one, and those an emailed link makes, which may be
 * opened signed out or on another device.
 */
const PUBLIC: ReadonlySet<DescMethod> = new Set<DescMethod>([
  AuthService.method.signUp, AuthService.method.login, AuthService.method.refresh,
  AuthService.method.requestPasswordReset, AuthService.method.resetPassword, AuthService.method.verifyEmail,
]);

/**
 * The token of a session being signed out, already gone from storage: a
 * Logout carries it, and its refusal ends nothing.
 */
export const endingToken = createContextKey<string | undefined>(undefined, { description: "the access token a sign-out ends" });

export function authorize(session: Session): Interceptor {
  return (next) => async (request) => {
    if (PUBLIC.has(request.method)) return next(request);
    const ending = request.contextValues.get(endingToken);
    if (ending !== undefined) {
      request.header.set("authorization", `Bearer ${ending}`);
      return next(request);
    }
    const token = await session.accessToken();
    if (!token) {
      session.end();
      throw new ConnectError("not signed in", Code.Unauthenticated);
    }
    request.header.set("authorization", `Bearer ${token}`);
    try {
      const response = await next(request);
      return response.stream ? { ...response, message: renewOnRefusal(response.message, session, token) } : response;
    } catch (error) {
      if (!refused(error)) throw error;
      const fresh = await renewed(session, token);
      // A stream cannot be sent again from here; its owner reconnects and gets the fresh token.
      if (request.stream) throw error;
      request.header.set("authorization", `Bearer ${fresh}`);
      try {
        return await next(request);
      } catch (again) {
        if (refused(again)) session.end();
        throw again;
      }
    }
  };
}

function refused(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unauthenticated;
}

/** A token to use instead of the refused `sent`: the session's own if another call renewed it meanwhile, else a refreshed one. */
async function renewed(session: Session, sent: string): Promise<string> {
  const current = session.tokens?.accessToken;
  return current && current !== sent ? current : (await session.refresh()).accessToken;
}

/**
 * Passes a stream's messages on; when the server ends an open stream because
 * its token expired, renews the token before the error reaches the owner (a
 * refused refresh ends the session).
 */
async function* renewOnRefusal<T>(messages: AsyncIterable<T>, session: Session, sent: string): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    if (refused(error)) await renewed(session, sent);
    throw error;
  }
}

/** Signs out at once: forgets the session, then asks the server to end it with the token it had. */
export function signOut(session: Session, auth: Pick<Client<typeof AuthService>, "logout">): void {
  const tokens = session.signOut();
  if (!tokens) return;
  void auth.logout({}, { contextValues: createContextValues().set(endingToken, tokens.accessToken) }).catch(() => undefined);
}
