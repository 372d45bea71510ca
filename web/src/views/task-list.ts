// A list of tasks on screen: pages loaded as the user scrolls, live events
// placed under the list's filter and order, and the count. Rows are kept by
// task id and updated in place, so focus stays where the user left it
// through any change, and when the focused task goes, focus moves to its
// neighbour instead of the page. Completing and deleting go through the
// screen's shared `TaskChanges`. `data-live="connected"` on the list says it
// was loaded after the live stream opened, so it is in sync and stays so.
import { type Api } from "../api";
import { type Connection } from "../connection";
import { h } from "../dom";
import { type Day, daysBetween, dueDay, localDay } from "../due-date";
import { describe } from "../errors";
import { type Task, type TaskEvent, TaskEvent_Kind } from "../gen/todo/task/v1/task_pb";
import { applyEvent, type Filter, mergePage, withinDays } from "../task-list";
import { type TaskChanges } from "./task-changes";
import { taskEditor } from "./task-editor";
import { taskRow, type TaskRow } from "./task-row";

const PAGE_SIZE = 20;

export interface TaskListOptions {
  tasks: Pick<Api["tasks"], "listTasks" | "updateTask" | "getTask">;
  connection: Connection;
  changes: TaskChanges;
  filter: Filter;
  /** Names the list for screen readers and tests ("task-list", "completed-list"). */
  testId: string;
  label: string;
  /** What the list says when it has nothing to show. */
  empty(): Node;
  filterByTag(tag: string): void;
  /** Takes focus when the list has no task left to give it to. */
  focusOutside(): void;
  /** The count changed (the completed section's heading follows it). */
  onCount?(count: number): void;
  /** A change every list on the screen must place (an edit saved here). */
  share(kind: TaskEvent_Kind, task: Task): void;
}

export interface TaskList {
  /** The message line, the count, the list, the empty state, "Load more" and the scroll sentinel, in screen order. */
  elements: HTMLElement[];
  /** The task with `id`, if this list shows it. */
  find(id: string): Task | undefined;
  /** Every task loaded, for "Clear completed": loads the remaining pages first. */
  loadAll(): Promise<Task[]>;
  setFilter(filter: Filter): void;
  /** Loads the first page again. */
  reload(): Promise<void>;
  /** A change to place, from this page or the live stream. */
  place(kind: TaskEvent_Kind, task: Task): void;
  apply(event: TaskEvent): void;
  /** Draws what is shown again (hidden tasks, changes on their way). */
  render(): void;
  setRowError(id: string, message: string): boolean;
  /** Puts focus on task `id`'s checkbox; false when this list does not show it. */
  focusTask(id: string): boolean;
  /** The rows in screen order. */
  taskIds(): string[];
  /** Opens task `id` for editing. */
  edit(id: string): void;
  /** The live stream is open: re-list to catch up on what it missed. */
  connected(): void;
  disconnected(): void;
  stop(): void;
}

/** A day as a heading: "Tomorrow", "Saturday 28 November". */
function dayHeading(day: Day, today: Day): string {
  if (daysBetween(today, day) === 1) return "Tomorrow";
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
}

/** Whether `error` means the backend could not be reached. */
const unreachable = (error: unknown) => describe(error).offline;

export function taskList({ tasks, connection, changes, filter: initial, testId, label, empty, filterByTag, focusOutside, onCount, share }: TaskListOptions): TaskList {
  let shown: Task[] = [];
  let nextPageToken = "";
  let total = 0;
  let filter: Filter = initial;
  let loading = false;
  let loaded = false;
  /** Bumped by every reload, so a page asked for before it is dropped. */
  let generation = 0;
  /**
   * Changes placed while the first page was on its way: the server may have
   * answered from before them, so they are placed again on top of it.
   */
  let sinceAsked: [TaskEvent_Kind, Task][] | undefined;
  let streamOpen = false;
  /** Whether the sentinel at the list's end is on screen: then the next page is wanted. */
  let atEnd = false;
  const rows = new Map<string, TaskRow>();
  /** The days filter is the list's own: the server sorts by due day and the list stops where the days end. */
  const byDays = () => Boolean(filter.dueBy || filter.dueAfter);

  const message = h("p", { class: "form-error", "data-testid": testId === "task-list" ? "list-error" : `${testId}-error`, role: "alert" });
  const count = h("p", { class: "muted count", "data-testid": testId === "task-list" ? "count" : `${testId}-count` });
  const list = h("ul", { class: "tasks", "data-testid": testId, "aria-label": label, "data-live": "connecting" });
  const nothing = h("div", { class: "empty", "data-testid": testId === "task-list" ? "empty" : `${testId}-empty`, hidden: true });
  const more = h("button", { type: "button", class: "secondary more", "data-testid": testId === "task-list" ? "load-more" : `${testId}-more`, hidden: true, onclick: () => void loadMore(false) }, "Load more");
  const sentinel = h("div", { class: "sentinel" });
  const scrolled = new IntersectionObserver((entries) => {
    atEnd = entries.some((entry) => entry.isIntersecting);
    if (atEnd) void loadMore(false);
  });
  scrolled.observe(sentinel);

  /** Runs a call, and tells the connection whether the backend answered. */
  async function call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      connection.set(false);
      return result;
    } catch (error) {
      if (unreachable(error)) connection.set(true);
      throw error;
    }
  }

  const find = (id: string) => shown.find((task) => task.id === id);

  function render(): void {
    const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? document.activeElement : undefined;
    const before = taskIds();
    const visible = shown.filter((task) => !changes.hidden(task.id));
    const ids = new Set(visible.map((task) => task.id));
    for (const [id, row] of rows) {
      if (ids.has(id)) continue;
      row.element.remove();
      rows.delete(id);
    }
    const today = localDay();
    // Rows already in place stay put; only the others move, so a focused row is rarely touched.
    let cursor = list.firstElementChild;
    let group = "";
    for (const task of visible) {
      let row = rows.get(task.id);
      if (!row) {
        row = taskRow(task, rowActions, today, testId);
        rows.set(task.id, row);
      }
      row.update(task, changes.completing(task.id) ?? task.completed, today);
      // Upcoming reads as a calendar: the first task of each day carries the day.
      const day = filter.dueAfter ? dueDay(task) : undefined;
      const heading = day && day !== group ? dayHeading(day, today) : undefined;
      if (day) group = day;
      if (heading) row.element.dataset.group = heading;
      else delete row.element.dataset.group;
      if (row.element === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(row.element, cursor);
    }
    const counted = byDays() ? visible.length : total - (shown.length - visible.length);
    count.textContent = `${counted} ${counted === 1 ? "task" : "tasks"}`;
    more.hidden = !nextPageToken;
    const isEmpty = loaded && visible.length === 0 && !nextPageToken;
    if (isEmpty && nothing.hidden) nothing.replaceChildren(empty());
    nothing.hidden = !isEmpty;
    list.hidden = visible.length === 0;
    onCount?.(counted);
    if (focused && document.activeElement !== focused) restoreFocus(focused, before);
  }

  function taskIds(): string[] {
    return [...list.children].map((item) => (item as HTMLElement).dataset.id ?? "");
  }

  /** The row focus was last in: when a change takes that row away, its neighbour gets focus. */
  let focusedRowId: string | undefined;
  list.addEventListener("focusin", (event) => {
    focusedRowId = (event.target as HTMLElement).closest<HTMLElement>("[data-testid=task]")?.dataset.id;
  });

  /** Focus was in the list and a change took it: back to the same control, or to the nearest task left. */
  function restoreFocus(focused: HTMLElement, before: string[]): void {
    if (focused.isConnected) return focused.focus({ preventScroll: true });
    const at = focusedRowId ? before.indexOf(focusedRowId) : -1;
    const after = before.slice(at + 1).find((id) => rows.has(id));
    const earlier = before.slice(0, Math.max(at, 0)).reverse().find((id) => rows.has(id));
    const next = after ?? earlier;
    if (next) rows.get(next)?.focus();
    else focusOutside();
  }

  const rowActions = {
    setCompleted: (id: string, completed: boolean) => {
      rows.get(id)?.setError("");
      changes.setCompleted(id, completed);
    },
    filterByTag,
    edit,
    remove: (id: string) => {
      const task = find(id);
      if (task) changes.remove([task], `Deleted “${task.title}”.`);
    },
  };

  function edit(id: string): void {
    const row = rows.get(id);
    const task = find(id);
    if (!row || !task || row.editing) return;
    row.setError("");
    row.showEditor(taskEditor({
      tasks: { updateTask: (request) => call(() => tasks.updateTask(request)), getTask: (request) => call(() => tasks.getTask(request)) },
      task,
      onClose(saved) {
        row.closeEditor();
        if (saved) share(TaskEvent_Kind.UPDATED, saved);
        else render();
      },
      onDelete() {
        row.closeEditor();
        rowActions.remove(id);
      },
    }));
  }

  /** Applies a change to what is shown; the count follows whether the task is in the list now. */
  function place(kind: TaskEvent_Kind, task: Task, remember = true): void {
    if (remember) sinceAsked?.push([kind, task]);
    const before = shown.some((existing) => existing.id === task.id);
    shown = applyEvent(shown, kind, task, filter);
    total += Number(shown.some((existing) => existing.id === task.id)) - Number(before);
  }

  async function loadMore(fresh: boolean): Promise<void> {
    if (!fresh && (loading || !nextPageToken)) return;
    if (fresh) {
      generation += 1;
      sinceAsked = [];
    }
    const mine = generation;
    const asked = filter;
    loading = true;
    try {
      const page = await call(() => tasks.listTasks({
        pageSize: PAGE_SIZE,
        pageToken: fresh ? "" : nextPageToken,
        query: asked.query,
        completed: asked.state === "all" ? undefined : asked.state === "done",
        tags: [...asked.tags],
        priority: asked.priority,
        orderBy: asked.order,
      }));
      if (mine !== generation) return;
      const wanted = page.tasks.filter((task) => withinDays(task, asked));
      shown = mergePage(fresh ? [] : shown, wanted);
      nextPageToken = page.nextPageToken;
      // In due order, a task past the last day (or with no due day) means the rest are too.
      const last = page.tasks.at(-1);
      if (asked.dueBy && last && !withinDays(last, { dueBy: asked.dueBy })) nextPageToken = "";
      total = page.totalSize;
      if (fresh) for (const [kind, task] of sinceAsked ?? []) place(kind, task, false);
      loaded = true;
      message.textContent = "";
      render();
      // Rows shown from now on (added here or elsewhere) fade in; the first page just appears.
      list.classList.add("settled");
      if (fresh && streamOpen) list.dataset.live = "connected";
    } catch (error) {
      // Offline is the banner's to say.
      if (!unreachable(error)) message.textContent = describe(error).message;
    } finally {
      if (mine === generation) {
        loading = false;
        if (fresh) sinceAsked = undefined;
      }
    }
    // The page did not fill the screen (or the days filter kept little of it): the next one is wanted too.
    if (mine === generation && nextPageToken && (atEnd || (byDays() && shown.length < PAGE_SIZE))) void loadMore(false);
  }

  return {
    elements: [message, count, list, nothing, more, sentinel],
    find,
    async loadAll() {
      while (nextPageToken) {
        const before = nextPageToken;
        await loadMore(false);
        if (nextPageToken === before) break;
      }
      return shown.filter((task) => !changes.hidden(task.id));
    },
    setFilter(next) {
      filter = next;
      void loadMore(true);
    },
    reload: () => loadMore(true),
    place(kind, task) {
      place(kind, task);
      render();
    },
    apply(event) {
      if (!event.task) return;
      place(event.kind, event.task);
      render();
    },
    render,
    setRowError(id, text) {
      const row = rows.get(id);
      row?.setError(text);
      return Boolean(row);
    },
    focusTask(id) {
      const row = rows.get(id);
      row?.focus();
      return Boolean(row);
    },
    taskIds,
    edit,
    connected() {
      streamOpen = true;
      void loadMore(true);
    },
    disconnected() {
      streamOpen = false;
      list.dataset.live = "reconnecting";
    },
    stop() {
      scrolled.disconnect();
    },
  };
}
