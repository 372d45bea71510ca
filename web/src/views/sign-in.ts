// The sign-in screen: one form that signs in (Enter) or creates an account,
// with the server's messages next to the field they are about, and the way to
// a forgotten password.
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api, tokensFrom } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb";
import { routeHash } from "../route";
import { type Session } from "../session";
import { FormMessages } from "./form";

export interface SignInOptions {
  api: Api;
  session: Session;
  onSignedIn(): void;
  /** The password was right but the server wants the email verified first (REQUIRE_VERIFIED_EMAIL). */
  onUnverified(email: string): void;
  /** Why the user is here, when it was not their choice (the session ended). */
  notice?: string;
  /** News that is not a problem (the account was deleted). */
  info?: string;
  /** The email to start with. */
  email?: string;
}

export function signInView({ api, session, onSignedIn, onUnverified, notice, info, email: knownEmail = "" }: SignInOptions): HTMLFormElement {
  const messages = new FormMessages("auth-error");
  const input = (name: "email" | "password", type: string, autocomplete: string) =>
    h("input", { id: name, name, type, autocomplete, required: true });
  const email = input("email", "email", "username");
  const password = input("password", "password", "current-password");
  email.value = knownEmail;
  // The link carries what was typed, so the reset screen starts with it.
  const forgot = h("a", { href: routeHash({ name: "reset", email: knownEmail, code: "" }), class: "forgot", "data-testid": "forgot-password" }, "Forgot password?");
  email.addEventListener("input", () => {
    forgot.href = routeHash({ name: "reset", email: email.value.trim(), code: "" });
  });
  const form = h("form", { class: "card auth", novalidate: true },
    h("h1", {}, "Todo"),
    info ? h("p", { class: "notice", role: "status", "data-testid": "auth-info" }, info) : null,
    h("p", { class: "muted" }, "Sign in, or create an account with any email and a password of 8 or more characters."),
    messages.field("Email", email, "email"),
    messages.field("Password", password, "password"),
    forgot,
    messages.general,
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in"),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-up", onclick: () => void submit("signup") }, "Create account")));
  if (notice) messages.general.textContent = notice;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit("login");
  });
  queueMicrotask(() => (knownEmail ? password : email).focus());

  async function submit(mode: "login" | "signup"): Promise<void> {
    messages.clear();
    const credentials = { email: email.value, password: password.value };
    try {
      if (mode === "signup") await api.auth.signUp(credentials);
      const response = await api.auth.login(credentials);
      session.save(tokensFrom(response, response.user?.email ?? credentials.email));
      onSignedIn();
    } catch (error) {
      if (unverified(error)) onUnverified(credentials.email.trim());
      else messages.show(describe(error, mode));
    }
  }

  return form;
}

/** The login was refused only because the address is not verified: told by the error's ErrorInfo reason, not its wording. */
function unverified(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.FailedPrecondition
    && error.findDetails(ErrorInfoSchema).some((info) => info.reason === "EMAIL_NOT_VERIFIED");
}
