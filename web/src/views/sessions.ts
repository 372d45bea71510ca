// Where the account is signed in: each session's device, address and last
// use, this device marked, a way to sign out any other one, and "sign out
// everywhere else". A signed-out device notices at its next call (or within
// a second, through its live stream) and shows sign-in.
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api } from "../api";
import { deviceName } from "../devices";
import { h } from "../dom";
import { describe } from "../errors";
import { type Session } from "../gen/todo/auth/v1/auth_pb";
import { dateTimeText, timeText } from "../time-text";
import { whileBusy } from "./form";

export interface SessionsOptions {
  auth: Pick<Api["auth"], "listSessions" | "revokeSession" | "revokeOtherSessions">;
  /** A session was ended: the activity list has news. */
  onChanged(): void;
}

export interface SessionsSection {
  element: HTMLElement;
  reload(): Promise<void>;
}

export function sessionsSection({ auth, onChanged }: SessionsOptions): SessionsSection {
  const heading = h("h2", { id: "sessions-heading", tabindex: "-1" }, "Where you are signed in");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "sessions-error" });
  const status = h("p", { class: "notice", role: "status", "data-testid": "sessions-status" });
  const list = h("ul", { class: "rows", "data-testid": "sessions", "aria-busy": "true" }, h("li", { class: "muted" }, "Loading…"));
  const others = h("button", { type: "button", class: "danger", "data-testid": "revoke-others" }, "Sign out everywhere else");
  const othersActions = h("div", { class: "actions", hidden: true }, others);
  const element = h("section", { class: "card section", "aria-labelledby": heading.id },
    heading,
    h("p", { class: "muted" }, "Signing a device out ends its session there at once; it will need the password to come back."),
    error, list, othersActions, status);

  others.addEventListener("click", () => void whileBusy(others, async () => {
    status.textContent = "";
    let problem = "";
    try {
      const { revokedCount } = await auth.revokeOtherSessions({});
      status.textContent = revokedCount === 0 ? "No other device was signed in." : `Signed out ${revokedCount} other ${revokedCount === 1 ? "session" : "sessions"}.`;
      onChanged();
    } catch (failure) {
      problem = describe(failure, "account").message;
    }
    await reload();
    if (problem) error.textContent = problem;
    // The button is gone with the other sessions; keep the user's place.
    if (othersActions.hidden) heading.focus();
  }));

  async function reload(): Promise<void> {
    list.setAttribute("aria-busy", "true");
    try {
      const { sessions } = await auth.listSessions({});
      error.textContent = "";
      render(sessions);
    } catch (failure) {
      error.textContent = describe(failure, "account").message;
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function render(sessions: Session[]): void {
    // This device first, then the most recently used (the server's order).
    const ordered = [...sessions.filter((session) => session.current), ...sessions.filter((session) => !session.current)];
    list.replaceChildren(...ordered.map(row));
    othersActions.hidden = !ordered.some((session) => !session.current);
  }

  function row(session: Session): HTMLLIElement {
    const device = deviceName(session.userAgent);
    const where = [`Active ${timeText(session.lastUseTime)}`, session.clientAddress].filter(Boolean).join(" · ");
    const item = h("li", { class: `row${session.current ? " current" : ""}`, "data-testid": "session", "data-current": String(session.current) },
      h("div", { class: "body" },
        h("p", { class: "name" }, h("span", { title: session.userAgent }, device), session.current ? h("span", { class: "badge", "data-testid": "this-device" }, "This device") : null),
        h("p", { class: "muted" }, where),
        session.createTime ? h("p", { class: "muted small" }, `Signed in ${dateTimeText(session.createTime)}`) : null));
    if (!session.current) {
      const revoke = h("button", { type: "button", class: "secondary", "data-testid": "revoke-session", "aria-label": `Sign out ${device}${session.clientAddress ? ` at ${session.clientAddress}` : ""}` }, "Sign out");
      revoke.addEventListener("click", () => void whileBusy(revoke, () => revokeOne(session, device, revoke)));
      item.append(revoke);
    }
    return item;
  }

  async function revokeOne(session: Session, device: string, button: HTMLButtonElement): Promise<void> {
    status.textContent = "";
    const place = [...list.querySelectorAll("[data-testid=revoke-session]")].indexOf(button);
    let problem = "";
    try {
      await auth.revokeSession({ sessionId: session.id });
      status.textContent = `Signed out ${device}.`;
      onChanged();
    } catch (failure) {
      // Ended meanwhile (it signed out, or another device revoked it): the list is what matters.
      if (failure instanceof ConnectError && failure.code === Code.NotFound) status.textContent = "That session had already ended.";
      else problem = describe(failure, "account").message;
    }
    await reload();
    if (problem) error.textContent = problem;
    // Focus moves to the next device's button (or the one before it), never to the page.
    const buttons = list.querySelectorAll<HTMLButtonElement>("[data-testid=revoke-session]");
    (buttons[Math.min(place, buttons.length - 1)] ?? heading).focus();
  }

  return { element, reload };
}
