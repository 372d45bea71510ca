// The screen the emailed verification link (`#/verify?email=…&code=…`)
// opens: it verifies at once, with no sign-in (people read mail on another
// device), and falls back to a form for the code when the link is incomplete,
// used or expired.
import { type Api } from "../api";
import { h } from "../dom";
import { describe, type FormField } from "../errors";
import { type User } from "../gen/todo/auth/v1/auth_pb";
import { FormMessages, whileBusy } from "./form";

export interface VerifyEmailOptions {
  auth: Pick<Api["auth"], "verifyEmail" | "sendVerificationEmail">;
  email: string;
  code: string;
  /** Whether a session is kept in this browser: it can ask for a new link, and "Continue" leads to the tasks. */
  signedIn: boolean;
  /** Why the user is here when it was not a link (a login refused until the address is verified). */
  notice?: string;
  onVerified(user: User | undefined): void;
  /** Leaves for the task list, or for sign-in with `email` filled in. */
  onContinue(email: string, verified: boolean): void;
}

export function verifyEmailView(options: VerifyEmailOptions): HTMLElement {
  const card = h("section", { class: "card auth", "aria-labelledby": "verify-heading", "data-testid": "verify-email" });
  const heading = (text: string) => h("h1", { id: "verify-heading", tabindex: "-1" }, text);

  async function verify(email: string, code: string): Promise<unknown> {
    try {
      const { user } = await options.auth.verifyEmail({ email, code });
      options.onVerified(user);
      done(user?.email ?? email);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  function done(email: string): void {
    const next = h("a", { href: "#/", class: "button", "data-testid": "verify-continue", onclick: (event) => {
      event.preventDefault();
      options.onContinue(email, true);
    } }, options.signedIn ? "Continue to your tasks" : "Sign in");
    const title = heading("Email address verified");
    card.replaceChildren(title,
      h("p", { role: "status", "data-testid": "verify-done" }, `Thank you: ${email} is confirmed as yours.`),
      h("div", { class: "actions" }, next));
    title.focus();
  }

  function form(email: string, code: string, failure?: unknown): void {
    const messages = new FormMessages("verify-error", "verify-");
    const emailInput = h("input", { id: "verify-email", name: "email", type: "email", autocomplete: "username", required: true, value: email });
    const codeInput = h("input", { id: "verify-code", name: "code", autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false", required: true, value: code });
    const submit = h("button", { type: "submit", "data-testid": "verify-submit" }, "Verify");
    const status = h("p", { class: "notice", role: "status", "data-testid": "verify-status" });
    const resend = options.signedIn ? h("button", { type: "button", class: "secondary", "data-testid": "verify-resend" }, "Send a new link") : null;
    resend?.addEventListener("click", () => void whileBusy(resend, async () => {
      messages.clear();
      status.textContent = "";
      try {
        await options.auth.sendVerificationEmail({});
        status.textContent = "A new link is on its way to your inbox; earlier links no longer work.";
      } catch (error) {
        messages.show(describe(error, "account"));
      }
    }));
    const element = h("form", { novalidate: true, class: "stack" },
      heading("Verify your email address"),
      options.notice ? h("p", { class: "notice", role: "status", "data-testid": "verify-notice" }, options.notice) : null,
      h("p", { class: "muted" }, options.signedIn
        ? "Enter the code from the email we sent you, or ask for a new link."
        : "Enter the code from the email we sent you. Links work once and expire; to get a new one, sign in and choose “Send a new link”."),
      messages.field("Email", emailInput, "email"),
      messages.field("Code from the email", codeInput, "code"),
      messages.general,
      status,
      h("div", { class: "actions" }, submit, resend, h("a", { href: "#/", onclick: (event) => {
        event.preventDefault();
        options.onContinue(emailInput.value.trim(), false);
      } }, options.signedIn ? "Back to your tasks" : "Back to sign in")));
    element.addEventListener("submit", (event) => {
      event.preventDefault();
      void whileBusy(submit, async () => {
        messages.clear();
        status.textContent = "";
        const address = emailInput.value.trim();
        const typed = codeInput.value.trim();
        const missing: Partial<Record<FormField, string>> = {};
        if (!address) missing.email = "Enter your email address.";
        if (!typed) missing.code = "Enter the code from the email.";
        if (Object.keys(missing).length > 0) {
          messages.show({ message: "", fields: missing, offline: false });
          messages.firstInvalid()?.focus();
          return;
        }
        const error = await verify(address, typed);
        if (error) {
          messages.show(describe(error, "account"));
          messages.firstInvalid()?.focus();
        }
      });
    });
    card.replaceChildren(element);
    if (failure) {
      messages.show(describe(failure, "account"));
      queueMicrotask(() => (messages.firstInvalid() ?? codeInput).focus());
    } else {
      queueMicrotask(() => (email ? codeInput : emailInput).focus());
    }
  }

  if (options.email && options.code) {
    card.replaceChildren(heading("Verifying your email address…"), h("p", { class: "muted", role: "status" }, `Checking the link for ${options.email}.`));
    void verify(options.email, options.code).then((error) => {
      if (error) form(options.email, options.code, error);
    });
  } else {
    form(options.email, options.code);
  }
  return card;
}
