// The account page: where the account is signed in, what happened to it,
// changing the password and deleting the account, under the same header as
// the task list. Each section is a view of its own; this page wires them so
// that a change in one (a password changed, a device signed out) shows up in
// the others.
import { type Api } from "../api";
import { h } from "../dom";
import { changePasswordSection } from "./change-password";
import { deleteAccountSection } from "./delete-account";
import { securityActivity } from "./security-activity";
import { sessionsSection } from "./sessions";
import { verifyBanner } from "./verify-banner";

export interface AccountPageOptions {
  api: Api;
  email: string;
  onSignOut(): void;
  onDeleted(): void;
}

export interface AccountPage {
  elements: HTMLElement[];
  /** Puts focus on the page's heading, so a screen reader starts at the top of the new page. */
  focus(): void;
  stop(): void;
}

export function accountPage({ api, email, onSignOut, onDeleted }: AccountPageOptions): AccountPage {
  const heading = h("h1", { tabindex: "-1" }, "Account");
  const header = h("header", { class: "top" },
    h("a", { href: "#/", class: "logo", "aria-label": "Your tasks" }),
    heading,
    h("span", { class: "muted user", "data-testid": "user" }, email),
    h("nav", { class: "top-actions", "aria-label": "Pages" },
      h("a", { href: "#/", class: "button secondary", "data-testid": "back-to-tasks" }, "Tasks"),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-out", onclick: onSignOut }, "Sign out")));
  const verify = verifyBanner({ auth: api.auth });
  const activity = securityActivity({ auth: api.auth });
  const sessions = sessionsSection({ auth: api.auth, onChanged: () => void activity.reload() });
  const password = changePasswordSection({ auth: api.auth, email, onChanged() {
    void sessions.reload();
    void activity.reload();
  } });
  const deletion = deleteAccountSection({ api, email, onDeleted });

  void verify.check();
  void sessions.reload();
  void activity.reload();
  return {
    elements: [header, verify.element, sessions.element, activity.element, password, deletion],
    focus: () => heading.focus(),
    stop: () => verify.stop(),
  };
}
