// "Forgot password?": first the email to send a code to, then the code and a
// new password. The emailed link (`#/reset?email=…&code=…`) opens the second
// step filled in. The server answers the first step the same whether or not
// the account exists, and so does this screen.
import { type Api } from "../api";
import { h } from "../dom";
import { describe, type FormField, type Problem } from "../errors";
import { FormMessages, hint, revealable, whileBusy } from "./form";

export interface ResetPasswordOptions {
  auth: Pick<Api["auth"], "requestPasswordReset" | "resetPassword">;
  /** From the emailed link, or what was typed on sign-in. */
  email: string;
  code: string;
  /** Whether a session is kept in this browser: "Back" then leads to the tasks. */
  signedIn: boolean;
  /** The password is reset (every session of the account has ended): sign in with it. */
  onReset(email: string, newPassword: string): Promise<void>;
}

/** The minutes a code works, as the contract promises; said so people know to hurry. */
const CODE_VALID_MINUTES = 15;

export function resetPasswordView(options: ResetPasswordOptions): HTMLElement {
  const card = h("section", { class: "card auth", "aria-labelledby": "reset-heading", "data-testid": "reset-password" });
  const back = () => h("a", { href: "#/", "data-testid": "back-to-sign-in" }, options.signedIn ? "Back to your tasks" : "Back to sign in");

  function requestStep(email: string): void {
    const messages = new FormMessages("reset-error", "reset-");
    const emailInput = h("input", { id: "reset-email", name: "email", type: "email", autocomplete: "username", required: true, value: email });
    const send = h("button", { type: "submit", "data-testid": "send-reset-code" }, "Email me a code");
    const form = h("form", { novalidate: true, class: "stack" },
      h("h1", { id: "reset-heading", tabindex: "-1" }, "Forgot your password?"),
      h("p", { class: "muted" }, "Enter the email you signed up with and we will send you a code to set a new password."),
      messages.field("Email", emailInput, "email"),
      messages.general,
      h("div", { class: "actions" }, send, back()));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void whileBusy(send, async () => {
        messages.clear();
        const address = emailInput.value.trim();
        if (!address) return showAt(messages, "email", "Enter your email address.");
        try {
          await options.auth.requestPasswordReset({ email: address });
          resetStep(address, "", true);
        } catch (error) {
          showProblem(messages, describe(error, "account"));
        }
      });
    });
    card.replaceChildren(form);
    queueMicrotask(() => emailInput.focus());
  }

  function resetStep(email: string, code: string, justSent: boolean): void {
    const messages = new FormMessages("reset-error", "reset-");
    const emailInput = h("input", { id: "reset-email", name: "email", type: "email", autocomplete: "username", required: true, value: email });
    const codeInput = h("input", {
      id: "reset-code", name: "code", autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false",
      required: true, value: code, "data-testid": "reset-code",
    });
    const password = h("input", { id: "reset-new-password", name: "new_password", type: "password", autocomplete: "new-password", required: true, "data-testid": "reset-new-password" });
    const submit = h("button", { type: "submit", "data-testid": "set-new-password" }, "Set new password");
    const status = h("p", { class: "notice", role: "status", "data-testid": "reset-status" });
    const resend = h("button", { type: "button", class: "link", "data-testid": "resend-reset-code" }, "Send a new code");
    const intro = justSent
      ? `If an account exists for ${email}, we have emailed it a code. The code works for ${CODE_VALID_MINUTES} minutes.`
      : "Enter the code from the email and choose a new password. Every device signed in to the account will be signed out.";
    const form = h("form", { novalidate: true, class: "stack" },
      h("h1", { id: "reset-heading", tabindex: "-1" }, "Set a new password"),
      h("p", { class: "muted", "data-testid": "reset-intro" }, intro),
      messages.field("Email", emailInput, "email"),
      messages.field("Code from the email", codeInput, "code"),
      messages.field("New password", password, "new_password", "field", revealable(password)),
      hint(password, "8 or more characters, not a commonly used password."),
      messages.general,
      status,
      h("div", { class: "actions" }, submit, resend),
      back());

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void whileBusy(submit, async () => {
        messages.clear();
        status.textContent = "";
        const request = { email: emailInput.value.trim(), code: codeInput.value.trim(), newPassword: password.value };
        const missing: Partial<Record<FormField, string>> = {};
        if (!request.email) missing.email = "Enter your email address.";
        if (!request.code) missing.code = "Enter the code from the email.";
        if (!request.newPassword) missing.new_password = "Enter a new password.";
        if (Object.keys(missing).length > 0) return showProblem(messages, { message: "", fields: missing, offline: false });
        try {
          await options.auth.resetPassword(request);
        } catch (error) {
          return showProblem(messages, describe(error, "account"));
        }
        await options.onReset(request.email, request.newPassword);
      });
    });
    resend.addEventListener("click", () => void whileBusy(resend, async () => {
      messages.clear();
      status.textContent = "";
      const address = emailInput.value.trim();
      if (!address) return showAt(messages, "email", "Enter your email address.");
      try {
        await options.auth.requestPasswordReset({ email: address });
        codeInput.value = "";
        status.textContent = `If an account exists for ${address}, a new code is on its way; earlier codes no longer work.`;
        codeInput.focus();
      } catch (error) {
        showProblem(messages, describe(error, "account"));
      }
    }));

    card.replaceChildren(form);
    // Straight to what is left to fill in: from the link, only the password.
    queueMicrotask(() => [emailInput, codeInput, password].find((input) => !input.value)?.focus());
  }

  if (options.email && options.code) resetStep(options.email, options.code, false);
  else requestStep(options.email);
  return card;
}

/** Shows `problem` and puts focus on the first field it marks, so the user lands where the fix goes. */
function showProblem(messages: FormMessages, problem: Problem): void {
  messages.show(problem);
  messages.firstInvalid()?.focus();
}

/** A message of this screen's own at `field`, before any request is sent. */
function showAt(messages: FormMessages, field: FormField, message: string): void {
  showProblem(messages, { message, fields: { [field]: message }, offline: false });
}
