// Signing in and creating an account: two modes of one card, each with its
// own address (`#/sign-in`, `#/sign-up`), so Enter does what the heading
// says. Empty fields are caught before any round trip; the server's messages
// show next to the field they are about; the way to a forgotten password.
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api, tokensFrom } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb";
import { routeHash } from "../route";
import { type Session } from "../session";
import { FormMessages, hint, revealable, whileBusy } from "./form";

export type SignInMode = "sign-in" | "sign-up";

export interface SignInOptions {
  api: Api;
  session: Session;
  onSignedIn(): void;
  /** The password was right but the server wants the email verified first (REQUIRE_VERIFIED_EMAIL). */
  onUnverified(email: string): void;
  mode?: SignInMode;
  /** Why the user is here, when it was not their choice (the session ended). */
  notice?: string;
  /** News that is not a problem (the account was deleted). */
  info?: string;
  /** The email to start with. */
  email?: string;
}

export function signInView({ api, session, onSignedIn, onUnverified, mode = "sign-in", notice, info, email: knownEmail = "" }: SignInOptions): HTMLFormElement {
  const signingUp = mode === "sign-up";
  const messages = new FormMessages("auth-error");
  const email = h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true, value: knownEmail });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: signingUp ? "new-password" : "current-password", required: true });
  // The links carry what was typed, so the next screen starts with it.
  const forgot = h("a", { class: "forgot", "data-testid": "forgot-password" }, "Forgot password?");
  const other = h("a", { "data-testid": signingUp ? "to-sign-in" : "to-sign-up" }, signingUp ? "Sign in" : "Create an account");
  const linksFor = (address: string) => {
    forgot.href = routeHash({ name: "reset", email: address, code: "" });
    other.href = routeHash({ name: signingUp ? "sign-in" : "sign-up", email: address });
  };
  linksFor(knownEmail);
  email.addEventListener("input", () => linksFor(email.value.trim()));
  const submit = h("button", { type: "submit", "data-testid": signingUp ? "sign-up" : "sign-in" }, signingUp ? "Create account" : "Sign in");
  const heading = h("h2", { id: "auth-heading" }, signingUp ? "Create your account" : "Sign in");
  const form = h("form", { class: "card auth", novalidate: true, "aria-labelledby": heading.id },
    h("h1", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Todo"),
    heading,
    info ? h("p", { class: "notice", role: "status", "data-testid": "auth-info" }, info) : null,
    messages.field("Email", email, "email"),
    messages.field("Password", password, "password", "field", revealable(password)),
    signingUp ? hint(password, "8 or more characters; a few words you will remember make a strong one.") : forgot,
    messages.general,
    h("div", { class: "actions" }, submit),
    h("p", { class: "switch" }, signingUp ? "Already have an account? " : "New here? ", other));
  if (notice) messages.general.textContent = notice;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(submit, send);
  });
  queueMicrotask(() => (knownEmail ? password : email).focus());

  async function send(): Promise<void> {
    messages.clear();
    const credentials = { email: email.value.trim(), password: password.value };
    const missing = {
      ...(credentials.email ? {} : { email: "Enter your email address." }),
      ...(credentials.password ? {} : { password: signingUp ? "Choose a password of 8 or more characters." : "Enter your password." }),
    };
    if (Object.keys(missing).length > 0) {
      messages.show({ message: "", fields: missing, offline: false });
      messages.firstInvalid()?.focus();
      return;
    }
    try {
      if (signingUp) await api.auth.signUp(credentials);
      const response = await api.auth.login(credentials);
      session.save(tokensFrom(response, response.user?.email ?? credentials.email));
      onSignedIn();
    } catch (error) {
      if (unverified(error)) return onUnverified(credentials.email);
      messages.show(describe(error, signingUp ? "signup" : "login"));
      if (error instanceof ConnectError && error.code === Code.AlreadyExists) {
        messages.slotOf("email")?.append(" ", h("a", { href: routeHash({ name: "sign-in", email: credentials.email }) }, "Sign in instead"));
      }
      messages.firstInvalid()?.focus();
    }
  }

  return form;
}

/** The login was refused only because the address is not verified: told by the error's ErrorInfo reason, not its wording. */
function unverified(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.FailedPrecondition
    && error.findDetails(ErrorInfoSchema).some((info) => info.reason === "EMAIL_NOT_VERIFIED");
}
