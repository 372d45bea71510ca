// The app's controller: shows the screen the URL's hash names (the task list,
// the account page, or a reset or verification link from an email), keeps
// the task screen live, and sends the user back to sign-in from wherever
// they are when the server ends the session.
import { type Api, tokensFrom } from "./api";
import { signOut } from "./authorization";
import { h } from "./dom";
import { parseRoute, type Route, routeHash } from "./route";
import { type Session } from "./session";
import { defaultView, type TaskView } from "./task-view";
import { accountPage } from "./views/account";
import { resetPasswordView } from "./views/reset-password";
import { type SignInOptions, signInView } from "./views/sign-in";
import { tasksScreen } from "./views/tasks-screen";
import { announceVerified } from "./views/verify-banner";
import { verifyEmailView } from "./views/verify-email";

export interface AppOptions {
  root: HTMLElement;
  session: Session;
  api: Api;
}

interface Screen {
  name: "sign-in" | "tasks" | "account" | "reset" | "verify";
  /** Whether the screen is the signed-in user's: when the session ends, it gives way to sign-in. */
  private: boolean;
  /** Ends what the screen keeps running (its live stream, its listeners). */
  stop(): void;
  /** Shows another address of the same screen without building it again (the task screen's views); false when it cannot. */
  navigate?(target: Route): boolean;
}

const ENDED = "Your session has ended. Please sign in again.";

/** Starts the app; returns how to stop it (tests start several). */
export function startApp({ root, session, api }: AppOptions): () => void {
  let screen: Screen | undefined;
  /** The hash the screen on show stands for; a hashchange to it again (some browsers send one for replaceState) is no news. */
  let shownHash = "";

  function show(name: Screen["name"], title: string, elements: Node[], { private: isPrivate = false, stop = (): void => undefined, navigate = undefined as Screen["navigate"] } = {}): void {
    screen?.stop();
    screen = { name, private: isPrivate, stop, navigate };
    document.title = title === "Todo" ? title : `${title} · Todo`;
    root.replaceChildren(...elements);
  }

  /** Shows the screen the hash names. */
  function route(): void {
    shownHash = location.hash;
    const target = parseRoute(location.hash);
    switch (target.name) {
      case "reset":
        return showReset(target.email, target.code);
      case "verify":
        return showVerify(target.email, target.code);
      case "account":
        return session.tokens ? showAccount() : showSignIn();
      case "sign-in":
      case "sign-up":
        if (session.tokens) return go({ name: "tasks" }, true);
        return showSignIn({ mode: target.name, email: target.email });
      case "tasks":
        if (!session.tokens) return showSignIn();
        if (screen?.name === "tasks" && screen.navigate?.(target)) return;
        return showTasks(target.view ?? defaultView);
    }
  }

  /** Goes to `target`; `replace` keeps a used link (its code) out of the history. */
  function go(target: Route, replace = false): void {
    const hash = routeHash(target);
    if (replace || location.hash === hash) {
      replaceHash(target);
      route();
    } else {
      // The hashchange listener shows it.
      location.hash = hash;
    }
  }

  /** Puts `target` in the address bar without showing it (the screen on show already stands for it). */
  function replaceHash(target: Route): void {
    history.replaceState(history.state, "", routeHash(target));
    shownHash = location.hash;
  }

  function onHashChange(): void {
    if (location.hash !== shownHash) route();
  }

  function showSignIn(options: Pick<SignInOptions, "notice" | "info" | "email" | "mode"> = {}): void {
    show("sign-in", options.mode === "sign-up" ? "Create account" : "Sign in", [signInView({ api, session, onSignedIn: route, onUnverified, ...options })]);
  }

  /** The notice the next verification screen opens with. */
  let verifyNotice: string | undefined;

  function onUnverified(email: string): void {
    verifyNotice = "Your email address is not verified yet. Enter the code from the latest email we sent you; signing in may just have sent a new one.";
    go({ name: "verify", email, code: "" });
  }

  function signOutHere(): void {
    signOut(session, api.auth);
    replaceHash({ name: "tasks" });
    showSignIn();
  }

  function header(): HTMLElement {
    return h("header", { class: "top" },
      h("h1", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Todo"),
      h("span", { class: "muted user", "data-testid": "user" }, session.tokens?.email ?? ""),
      h("nav", { class: "top-actions", "aria-label": "Pages" },
        h("a", { href: routeHash({ name: "account" }), class: "button secondary", "data-testid": "account" }, "Account"),
        h("button", { type: "button", class: "secondary", "data-testid": "sign-out", onclick: signOutHere }, "Sign out")));
  }

  function showTasks(view: TaskView): void {
    const tasks = tasksScreen({
      api,
      header: header(),
      view,
      setHash(hash, push) {
        if (hash === location.hash) return;
        if (push) history.pushState(history.state, "", hash);
        else history.replaceState(history.state, "", hash);
        shownHash = location.hash;
      },
    });
    show("tasks", "Todo", tasks.elements, {
      private: true,
      stop: tasks.stop,
      navigate(target) {
        if (target.name !== "tasks") return false;
        tasks.showView(target.view ?? defaultView);
        return true;
      },
    });
    // The screen's own title (Today · Todo) over the generic one.
    tasks.showView(view);
    tasks.focus();
  }

  function showAccount(): void {
    const page = accountPage({
      api,
      email: session.tokens?.email ?? "",
      onSignOut: signOutHere,
      onDeleted() {
        // The server has refused every token of the account already; only this browser's copy is left.
        session.signOut();
        replaceHash({ name: "tasks" });
        showSignIn({ info: "Your account and all of its tasks were deleted." });
      },
    });
    show("account", "Account", page.elements, { private: true, stop: page.stop });
    page.focus();
  }

  function showReset(email: string, code: string): void {
    show("reset", "Reset password", [resetPasswordView({
      auth: api.auth,
      email,
      code,
      signedIn: Boolean(session.tokens),
      async onReset(address, password) {
        // Every session of the account has ended; a session of another account kept here ends too.
        if (session.tokens) signOut(session, api.auth);
        try {
          const response = await api.auth.login({ email: address, password });
          session.save(tokensFrom(response, response.user?.email ?? address));
          go({ name: "tasks" }, true);
        } catch {
          replaceHash({ name: "tasks" });
          showSignIn({ info: "Your password was reset. Sign in with your new password.", email: address });
        }
      },
    })]);
  }

  function showVerify(email: string, code: string): void {
    const notice = verifyNotice;
    verifyNotice = undefined;
    show("verify", "Verify email", [verifyEmailView({
      auth: api.auth,
      email,
      code,
      notice,
      signedIn: Boolean(session.tokens),
      onVerified() {
        announceVerified(localStorage);
        // The code is used up: a reload should not try it again.
        replaceHash({ name: "tasks" });
      },
      onContinue(address, verified) {
        if (session.tokens) return go({ name: "tasks" });
        replaceHash({ name: "tasks" });
        showSignIn({ email: address, info: verified ? "Your email address is verified. Sign in to continue." : undefined });
      },
    })]);
  }

  const stopListening = session.onEnded(() => {
    if (screen?.private) showSignIn({ notice: ENDED });
  });
  window.addEventListener("hashchange", onHashChange);
  route();
  return () => {
    stopListening();
    window.removeEventListener("hashchange", onHashChange);
    screen?.stop();
  };
}
