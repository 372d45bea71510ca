// The sign-in screen: one form that signs in (Enter) or creates an account,
// with the server's messages next to the field they are about.
import { type Api, tokensFrom } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { type Session } from "../session";
import { FormMessages } from "./form";

export interface SignInOptions {
  api: Api;
  session: Session;
  onSignedIn(): void;
  /** Why the user is here, when it was not their choice (the session ended). */
  notice?: string;
}

export function signInView({ api, session, onSignedIn, notice }: SignInOptions): HTMLFormElement {
  const messages = new FormMessages("auth-error");
  const input = (name: "email" | "password", type: string, autocomplete: string) =>
    h("input", { id: name, name, type, autocomplete, required: true });
  const email = input("email", "email", "username");
  const password = input("password", "password", "current-password");
  const form = h("form", { class: "card auth", novalidate: true },
    h("h1", {}, "Todo"),
    h("p", { class: "muted" }, "Sign in, or create an account with any email and a password of 8 or more characters."),
    messages.field("Email", email, "email"),
    messages.field("Password", password, "password"),
    messages.general,
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in"),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-up", onclick: () => void submit("signup") }, "Create account")));
  if (notice) messages.general.textContent = notice;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit("login");
  });
  queueMicrotask(() => email.focus());

  async function submit(mode: "login" | "signup"): Promise<void> {
    messages.clear();
    const credentials = { email: email.value, password: password.value };
    try {
      if (mode === "signup") await api.auth.signUp(credentials);
      const response = await api.auth.login(credentials);
      session.save(tokensFrom(response, response.user?.email ?? credentials.email));
      onSignedIn();
    } catch (error) {
      messages.show(describe(error, mode));
    }
  }

  return form;
}
