// The screens as addresses in the URL's hash, so Back works, a reload stays
// put (with the task screen's view and filters), and the links in our emails
// (`#/reset?email=…&code=…`, `#/verify?email=…&code=…`) open the screen they
// are for, filled in.
import { readView, type TaskView, viewHash } from "./task-view";

export type Route =
  /** The task screen; without a view, the plain list. */
  | { name: "tasks"; view?: TaskView }
  | { name: "account" }
  /** Signing in and creating an account are two screens, so Enter does what the screen says; `email` carries what was typed across. */
  | { name: "sign-in"; email: string }
  | { name: "sign-up"; email: string }
  /** Forgot password: without a code, the step that asks for one. */
  | { name: "reset"; email: string; code: string }
  | { name: "verify"; email: string; code: string };

/** The route a hash (`location.hash`, with or without its `#`) names; anything unknown is the task list. */
export function parseRoute(hash: string): Route {
  const [path, query = ""] = hash.replace(/^#/, "").split(/\?(.*)/s, 2);
  const params = queryParams(query);
  const email = (params.get("email") ?? "").trim();
  const code = (params.get("code") ?? "").trim();
  switch (path.replace(/\/+$/, "")) {
    case "/account":
      return { name: "account" };
    case "/sign-in":
      return { name: "sign-in", email };
    case "/sign-up":
      return { name: "sign-up", email };
    case "/reset":
      return { name: "reset", email, code };
    case "/verify":
      return { name: "verify", email, code };
    default: {
      const view = readView(path.replace(/\/+$/, ""), params);
      const plain = !view || viewHash(view) === "#/";
      return plain ? { name: "tasks" } : { name: "tasks", view };
    }
  }
}

/** The hash for `route`; empty parameters are left out. */
export function routeHash(route: Route): string {
  if (route.name === "tasks") return route.view ? viewHash(route.view) : "#/";
  if (route.name === "account") return "#/account";
  const values: Record<string, string> = route;
  const query = ["email", "code"]
    .filter((key) => values[key])
    .map((key) => `${key}=${encodeURIComponent(values[key])}`)
    .join("&");
  return `#/${route.name}${query ? `?${query}` : ""}`;
}

/**
 * A query's parameters, read so that an email survives however the link was
 * written: `+` stays a plus (emails have no spaces, and `a+b@example.com`
 * written unencoded must not become `a b@…`), a malformed escape is kept as
 * written, and `&amp;` (an HTML part escaped twice) still separates.
 */
function queryParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of query.split("&")) {
    if (!pair) continue;
    const [rawKey, rawValue = ""] = pair.split(/=(.*)/s, 2);
    const key = decode(rawKey).replace(/^amp;/, "");
    if (!params.has(key)) params.set(key, decode(rawValue));
  }
  return params;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
