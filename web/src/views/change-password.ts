// Change password: the current one and a new one. The server signs every
// other device out; this one stays signed in.
import { type Api } from "../api";
import { h } from "../dom";
import { describe, type FormField } from "../errors";
import { FormMessages, hint, revealable, whileBusy } from "./form";

export interface ChangePasswordOptions {
  auth: Pick<Api["auth"], "changePassword">;
  /** The email, so password managers know which account the new password is for. */
  email: string;
  onChanged(): void;
}

export function changePasswordSection({ auth, email, onChanged }: ChangePasswordOptions): HTMLElement {
  const messages = new FormMessages("change-password-error", "change-");
  // A hidden username field: password managers pair the new password with it.
  const username = h("input", { type: "email", name: "username", autocomplete: "username", value: email, hidden: true, readonly: true });
  const current = h("input", { id: "current-password", name: "current_password", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { id: "new-password", name: "new_password", type: "password", autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit", "data-testid": "change-password" }, "Change password");
  const status = h("p", { class: "notice", role: "status", "data-testid": "change-password-status" });
  const heading = h("h2", { id: "change-password-heading" }, "Change password");
  const form = h("form", { class: "stack", novalidate: true, "aria-labelledby": heading.id },
    heading,
    username,
    messages.field("Current password", current, "current_password"),
    messages.field("New password", next, "new_password", "field", revealable(next)),
    hint(next, "8 or more characters, not a commonly used password. Your other devices will be signed out."),
    messages.general,
    status,
    h("div", { class: "actions" }, submit));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(submit, async () => {
      messages.clear();
      status.textContent = "";
      const missing: Partial<Record<FormField, string>> = {};
      if (!current.value) missing.current_password = "Enter your current password.";
      if (!next.value) missing.new_password = "Enter a new password.";
      if (Object.keys(missing).length === 0) {
        try {
          await auth.changePassword({ currentPassword: current.value, newPassword: next.value });
          current.value = "";
          next.value = "";
          status.textContent = "Your password was changed. Every other device was signed out.";
          onChanged();
          return;
        } catch (error) {
          messages.show(describe(error, "account"));
        }
      } else {
        messages.show({ message: "", fields: missing, offline: false });
      }
      messages.firstInvalid()?.focus();
    });
  });

  return h("section", { class: "card section" }, form);
}
