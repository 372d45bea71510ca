// The task screen: quick add and the header stay at the top, then the
// views and filters, the list the view asks for (in All, the completed
// tasks folded away at the bottom, with "Clear completed"), helpful empty
// states, toasts with Undo, keyboard shortcuts, and the live stream that
// keeps every list in sync. The view and its filters live in the URL; the
// app hands changes of it here instead of building the screen again.
import { type Api } from "../api";
import { Connection } from "../connection";
import { h } from "../dom";
import { type Day, localDay } from "../due-date";
import { type Task, TaskEvent_Kind } from "../gen/todo/task/v1/task_pb";
import { isFiltered, listFilters, type TaskView, VIEWS, viewHash } from "../task-view";
import { watchTasks } from "../watch";
import { addForm } from "./add-form";
import { connectionBanner } from "./banner";
import { filterBar } from "./filters";
import { shortcuts } from "./shortcuts";
import { taskChanges } from "./task-changes";
import { taskList, type TaskList } from "./task-list";
import { toaster } from "./toast";
import { verifyBanner } from "./verify-banner";

export interface TasksScreenOptions {
  api: Api;
  header: HTMLElement;
  view: TaskView;
  /** Puts a new view's hash in the address bar: `push` adds a Back step, otherwise it replaces. */
  setHash(hash: string, push: boolean): void;
}

export interface TasksScreen {
  elements: HTMLElement[];
  /** Shows another view (a link, Back, or a change made here). */
  showView(view: TaskView): void;
  focus(): void;
  stop(): void;
}

const HEADINGS: Readonly<Record<TaskView["view"], string>> = { all: "All tasks", today: "Today", upcoming: "Upcoming", done: "Done" };

export function tasksScreen({ api, header, view: initial, setHash }: TasksScreenOptions): TasksScreen {
  let view = initial;
  let today: Day = localDay();
  const connection = new Connection();
  const banner = connectionBanner();
  const stopBanner = connection.onChange(banner.show);
  const toasts = toaster(() => add.focus());
  const verify = verifyBanner({ auth: api.auth });
  const filters = filterBar(change);
  const heading = h("h2", { id: "view-heading", tabindex: "-1" });
  const lists: TaskList[] = [];

  const changes = taskChanges({
    tasks: api.tasks,
    connection,
    toasts,
    current: (id) => lists.map((list) => list.find(id)).find(Boolean),
    apply: share,
    redraw: () => lists.forEach((list) => list.render()),
    rowError: (id, message) => lists.some((list) => list.setRowError(id, message)),
    focusTask: (id) => lists.some((list) => list.focusTask(id)),
  });

  /** A change every list places: it may leave one list for another (completing moves a task to Completed). */
  function share(kind: TaskEvent_Kind, task: Task): void {
    for (const list of lists) list.place(kind, task);
  }

  const listOptions = {
    tasks: api.tasks,
    connection,
    changes,
    filterByTag: (tag: string) => change({ ...view, tag }, true),
    focusOutside: () => add.focus(),
    share,
  };
  const filtersNow = () => listFilters(view, today);
  const main = taskList({ ...listOptions, filter: filtersNow().main, testId: "task-list", label: "Tasks", empty: emptyState });
  const completedCount = h("span", { class: "muted", "data-testid": "completed-count" });
  const completedBody = h("div", { id: "completed-body", class: "completed-body", hidden: true });
  const showCompleted: HTMLButtonElement = h("button", {
    type: "button", class: "disclosure", "aria-expanded": "false", "aria-controls": completedBody.id, "data-testid": "show-completed",
    onclick: () => {
      completedBody.hidden = !completedBody.hidden;
      showCompleted.setAttribute("aria-expanded", String(!completedBody.hidden));
    },
  }, "Completed ", completedCount);
  const clearButton = () => h("button", { type: "button", class: "quiet danger", "data-testid": "clear-completed", onclick: () => void clearCompleted() }, "Clear completed");
  const completed = taskList({
    ...listOptions,
    filter: filtersNow().completed ?? filtersNow().main,
    testId: "completed-list",
    label: "Completed tasks",
    empty: () => h("p", { class: "muted" }, "Nothing completed yet."),
    onCount(count) {
      completedCount.textContent = `(${count})`;
      completedSection.hidden = view.view !== "all" || count === 0;
    },
  });
  lists.push(main, completed);
  completedBody.append(...completed.elements.filter((element) => element.dataset.testid !== "completed-list-count"));
  const completedSection = h("section", { class: "completed", "aria-label": "Completed tasks", "data-testid": "completed", hidden: true },
    h("div", { class: "completed-bar" }, showCompleted, clearButton()),
    completedBody);
  const doneActions = h("div", { class: "view-actions", hidden: true }, clearButton());

  const add = addForm({ tasks: api.tasks, connection, onAdded: (task) => share(TaskEvent_Kind.CREATED, task) });
  const keys = shortcuts({
    add: () => add.focus(),
    search: () => filters.focusSearch(),
    move,
    toggle: () => withFocusedTask((id, task) => changes.setCompleted(id, !(changes.completing(id) ?? task.completed))),
    edit: () => withFocusedTask((id) => lists.find((list) => list.find(id))?.edit(id)),
    remove: () => withFocusedTask((_, task) => changes.remove([task], `Deleted “${task.title}”.`)),
    undo: () => toasts.act(),
    view: (index) => {
      const target = VIEWS[index]?.[0];
      if (target) change({ ...view, view: target }, true);
    },
  });

  const stopWatching = watchTasks(api.tasks, {
    onEvent(event) {
      for (const list of lists) list.apply(event);
    },
    onConnected() {
      connection.set(false);
      for (const list of lists) list.connected();
    },
    onDisconnected() {
      connection.set(true);
      for (const list of lists) list.disconnected();
    },
  });

  /** The task focus is in, and its newest version. */
  function withFocusedTask(run: (id: string, task: Task) => void): void {
    const id = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-testid=task]")?.dataset.id;
    const task = id ? lists.map((list) => list.find(id)).find(Boolean) : undefined;
    if (id && task) run(id, task);
  }

  /** Focus to the next or previous task on screen, across lists; from outside them, the first. */
  function move(step: 1 | -1): void {
    const ids = [...main.taskIds(), ...(completedBody.hidden ? [] : completed.taskIds())];
    const at = ids.indexOf((document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-testid=task]")?.dataset.id ?? "");
    const next = ids[at === -1 ? 0 : Math.min(Math.max(at + step, 0), ids.length - 1)];
    if (next) lists.some((list) => list.focusTask(next));
  }

  async function clearCompleted(): Promise<void> {
    const done = await (view.view === "done" ? main : completed).loadAll();
    changes.remove(done, `Cleared ${done.length} completed ${done.length === 1 ? "task" : "tasks"}.`);
  }

  function emptyState(): Node {
    if (isFiltered(view)) {
      const what = [view.query.trim() && `“${view.query.trim()}”`, view.tag && `#${view.tag}`, view.priority && `${view.priority} priority`].filter(Boolean).join(", ");
      return h("div", {},
        h("p", { class: "empty-title" }, `No tasks match ${what}.`),
        h("button", { type: "button", class: "secondary", "data-testid": "empty-clear-filters", onclick: () => change({ ...view, query: "", tag: "", priority: "" }, true) }, "Clear filters"));
    }
    const [title, hint] = {
      all: completedSection.hidden
        ? ["Nothing to do yet.", "Add your first task above. Try “Call mum tomorrow #family !high”: the day, tag and priority are read from the line."]
        : ["All done.", "Everything here is completed. Enjoy the quiet, or add what comes next."],
      today: ["Nothing due today.", "Tasks due today, and any that are late, show here."],
      upcoming: ["Nothing scheduled.", "Give a task a due day (end the line with “fri” or “25 dec”) and it shows here."],
      done: ["No completed tasks yet.", "Tick a task and it moves here."],
    }[view.view];
    return h("div", {}, h("p", { class: "empty-title" }, title), h("p", { class: "muted" }, hint));
  }

  /** A change made on this screen: into the URL, then shown. */
  function change(next: TaskView, push: boolean): void {
    setHash(viewHash(next), push);
    showView(next);
  }

  let shownOnce = false;

  function showView(next: TaskView): void {
    const before = view;
    view = next;
    today = localDay();
    const { main: mainFilter, completed: completedFilter } = listFilters(view, today);
    heading.textContent = view.view === "today" ? `Today, ${new Date().toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" })}` : HEADINGS[view.view];
    filters.show(view);
    doneActions.hidden = view.view !== "done";
    if (!completedFilter) completedSection.hidden = true;
    document.title = view.view === "all" ? "Todo" : `${HEADINGS[view.view]} · Todo`;
    if (shownOnce && viewHash(before) === viewHash(view)) return;
    shownOnce = true;
    main.setFilter(mainFilter);
    if (completedFilter) completed.setFilter(completedFilter);
    // A new view: its heading is where reading starts (not when typing in the search box).
    if (before.view !== view.view && document.activeElement?.id !== "search") heading.focus({ preventScroll: true });
  }

  // Deletes that wait on their toast go out when the page is hidden or left.
  const onHidden = () => {
    if (document.visibilityState === "hidden") changes.flush();
  };
  document.addEventListener("visibilitychange", onHidden);
  window.addEventListener("pagehide", changes.flush);

  filters.show(view);
  showView(view);
  void verify.check();

  return {
    elements: [
      h("div", { class: "sticky" }, header, add.element),
      verify.element,
      banner.element,
      filters.element,
      h("section", { class: "view", "aria-labelledby": heading.id }, h("div", { class: "view-head" }, heading, doneActions), ...main.elements),
      completedSection,
      h("footer", { class: "foot" }, ...keys.elements),
      toasts.element,
    ],
    showView,
    focus: () => add.focus(),
    stop() {
      changes.flush();
      document.removeEventListener("visibilitychange", onHidden);
      window.removeEventListener("pagehide", changes.flush);
      keys.stop();
      stopWatching();
      stopBanner();
      for (const list of lists) list.stop();
      add.stop();
      toasts.stop();
      verify.stop();
    },
  };
}
