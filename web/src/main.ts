// The entry point: the session kept in this browser's storage, the API at this
// page's origin with every call signed by that session, and the app.
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { createApi, refresher } from "./api";
import { startApp } from "./app";
import { authorize } from "./authorization";
import { AuthService } from "./gen/todo/auth/v1/auth_pb";
import { Session } from "./session";
import "./styles.css";

/** Sign-outs are sent with `keepalive`, so leaving or closing the page right after does not cancel them. */
const fetchKeepingLogouts: typeof fetch = (input, init) => fetch(input, String(input).endsWith("/Logout") ? { ...init, keepalive: true } : init);
const transport = (interceptors: Interceptor[]) =>
  createGrpcWebTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors, fetch: fetchKeepingLogouts });
// Refresh goes out unsigned: the session it renews cannot sign it.
const session = new Session(localStorage, refresher(createClient(AuthService, transport([]))));
const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");
startApp({ root, session, api: createApi(transport([authorize(session)])) });
