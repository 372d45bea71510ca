// The app's controller: shows sign-in or the task screen, keeps the task
// screen live, and sends the user back to sign-in from wherever they are when
// the server ends the session.
import { type Api } from "./api";
import { signOut } from "./authorization";
import { h } from "./dom";
import { type Session } from "./session";
import { addForm } from "./views/add-form";
import { connectionBanner } from "./views/banner";
import { filterBar } from "./views/filters";
import { signInView } from "./views/sign-in";
import { taskList } from "./views/task-list";
import { watchTasks } from "./watch";

export interface AppOptions {
  root: HTMLElement;
  session: Session;
  api: Api;
}

interface Screen {
  name: "sign-in" | "tasks";
  /** Ends what the screen keeps running (its live stream). */
  stop(): void;
}

export function startApp({ root, session, api }: AppOptions): void {
  let screen: Screen | undefined;

  function show(name: Screen["name"], elements: Node[], stop = () => undefined): void {
    screen?.stop();
    screen = { name, stop };
    root.replaceChildren(...elements);
  }

  function showSignIn(notice?: string): void {
    show("sign-in", [signInView({ api, session, onSignedIn: showTasks, notice })]);
  }

  function showTasks(): void {
    const banner = connectionBanner();
    const filters = filterBar((change) => list.setFilter(change));
    const list = taskList({ tasks: api.tasks, onOffline: banner.show, filterByTag: filters.filterByTag });
    const add = addForm({ tasks: api.tasks, onAdded: list.added, onOffline: () => banner.show(true) });
    const header = h("header", { class: "top" },
      h("h1", {}, "Todo"),
      h("span", { class: "muted", "data-testid": "user" }, session.tokens?.email ?? ""),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-out", onclick: () => {
        signOut(session, api.auth);
        showSignIn();
      } }, "Sign out"));
    const stopWatching = watchTasks(api.tasks, {
      onEvent: list.apply,
      onConnected() {
        banner.show(false);
        list.connected();
      },
      onDisconnected() {
        banner.show(true);
        list.disconnected();
      },
    });
    show("tasks", [header, banner.element, add.element, filters.element, ...list.elements], () => {
      stopWatching();
      list.stop();
    });
    add.focus();
    void list.reload();
  }

  session.onEnded(() => {
    if (screen?.name !== "sign-in") showSignIn("Your session has ended. Please sign in again.");
  });
  if (session.tokens) showTasks();
  else showSignIn();
}
