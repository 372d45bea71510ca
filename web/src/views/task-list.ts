// The list of tasks on screen: pages loaded as the user scrolls, live events
// placed under the current filter and order, and the count. Rows are kept
// by task id and updated in place, so focus stays where the user left it
// through any change, and when the focused task goes, focus moves to its
// neighbour instead of the page. Changes to one task go out one at a time,
// each with the version the last one left (its etag), so quick toggles
// never look like a conflict. `data-live="connected"` on the list says it
// was loaded after the live stream opened, so it is in sync and stays so.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api } from "../api";
import { type Connection, OFFLINE_ACTION } from "../connection";
import { h } from "../dom";
import { localDay } from "../due-date";
import { describe } from "../errors";
import { type Task, type TaskEvent, TaskEvent_Kind, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { applyEvent, defaultFilter, type Filter, mergePage } from "../task-list";
import { taskEditor } from "./task-editor";
import { taskRow, type TaskRow } from "./task-row";
import { type Toaster } from "./toast";

const PAGE_SIZE = 20;

export interface TaskListOptions {
  tasks: Pick<Api["tasks"], "listTasks" | "updateTask" | "deleteTask" | "getTask">;
  connection: Connection;
  toasts: Toaster;
  filterByTag(tag: string): void;
  /** Takes focus when the list has no task left to give it to. */
  focusOutside(): void;
}

export interface TaskList {
  /** The message line, the count, the list, the "Load more" button and the scroll sentinel, in screen order. */
  elements: HTMLElement[];
  setFilter(change: Partial<Filter>): void;
  /** Loads the first page again. */
  reload(): Promise<void>;
  /** A task this page created: shown at once, counted once even if its live event came first. */
  added(task: Task): void;
  /** A change from the live stream. */
  apply(event: TaskEvent): void;
  /** The live stream is open: re-list to catch up on what it missed. */
  connected(): void;
  disconnected(): void;
  stop(): void;
}

/** Whether `error` means the backend could not be reached. */
const unreachable = (error: unknown) => describe(error).offline;

export function taskList({ tasks, connection, toasts, filterByTag, focusOutside }: TaskListOptions): TaskList {
  let shown: Task[] = [];
  let nextPageToken = "";
  let total = 0;
  let filter: Filter = defaultFilter;
  let loading = false;
  /** Bumped by every reload, so a page asked for before it is dropped. */
  let generation = 0;
  /**
   * Changes placed while the first page was on its way: the server may have
   * answered from before them, so they are placed again on top of it.
   */
  let sinceAsked: [TaskEvent_Kind, Task][] | undefined;
  let streamOpen = false;
  const rows = new Map<string, TaskRow>();
  /** What a task's checkbox shows while changes to it are on their way. */
  const completing = new Map<string, boolean>();
  /** Each task's changes in flight, chained so they go out one after another. */
  const queues = new Map<string, Promise<void>>();

  const message = h("p", { class: "form-error", "data-testid": "list-error", role: "alert" });
  const count = h("p", { class: "muted count", "data-testid": "count" });
  const list = h("ul", { class: "tasks", "data-testid": "task-list", "data-live": "connecting" });
  const more = h("button", { type: "button", class: "secondary", "data-testid": "load-more", hidden: true, onclick: () => void loadMore(false) }, "Load more");
  const sentinel = h("div", { class: "sentinel" });
  const scrolled = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) void loadMore(false);
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
    const before = [...list.children].map((item) => (item as HTMLElement).dataset.id ?? "");
    const ids = new Set(shown.map((task) => task.id));
    for (const [id, row] of rows) {
      if (ids.has(id)) continue;
      row.element.remove();
      rows.delete(id);
    }
    const today = localDay();
    // Rows already in place stay put; only the others move, so a focused row is rarely touched.
    let cursor = list.firstElementChild;
    for (const task of shown) {
      let row = rows.get(task.id);
      if (!row) {
        row = taskRow(task, rowActions, today);
        rows.set(task.id, row);
      }
      row.update(task, completing.get(task.id) ?? task.completed, today);
      if (row.element === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(row.element, cursor);
    }
    count.textContent = `${total} ${total === 1 ? "task" : "tasks"}`;
    more.hidden = !nextPageToken;
    if (focused && document.activeElement !== focused) restoreFocus(focused, before);
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
    setCompleted,
    filterByTag,
    edit,
    remove,
  };

  function setCompleted(id: string, completed: boolean): void {
    const row = rows.get(id);
    row?.setError("");
    if (connection.offline) {
      toasts.show(OFFLINE_ACTION);
      // The browser ticked the box; the row goes back to the task as it is.
      render();
      return;
    }
    completing.set(id, completed);
    render();
    const run = (queues.get(id) ?? Promise.resolve()).then(() => sendCompleted(id));
    queues.set(id, run);
    void run.finally(() => {
      if (queues.get(id) !== run) return;
      queues.delete(id);
      completing.delete(id);
      render();
    });
  }

  /** Sends what the checkbox shows now, on top of the version the last change left. */
  async function sendCompleted(id: string): Promise<void> {
    const wanted = completing.get(id);
    const current = find(id);
    if (wanted === undefined || !current || current.completed === wanted) return;
    try {
      const { task } = await call(() => tasks.updateTask({
        task: create(TaskSchema, { id, completed: wanted, etag: current.etag }),
        updateMask: create(FieldMaskSchema, { paths: ["completed"] }),
      }));
      if (!task) return;
      place(TaskEvent_Kind.UPDATED, task);
      render();
      toasts.show(`“${task.title}” ${task.completed ? "completed" : "marked as not done"}.`);
    } catch (error) {
      completing.delete(id);
      failed(id, error, "changed");
    }
  }

  /** Says why a change to task `id` did not happen: offline in a toast, anything else at the row. */
  function failed(id: string, error: unknown, what: "changed" | "deleted"): void {
    if (unreachable(error)) {
      toasts.show(OFFLINE_ACTION);
      render();
      return;
    }
    const conflict = error instanceof ConnectError && error.code === Code.Aborted;
    const text = conflict
      ? `This task was changed on another device meanwhile, so it was not ${what}. It now shows that version; try again if you still want to.`
      : describe(error).message;
    if (conflict) void refresh(id);
    render();
    rows.get(id)?.setError(text);
  }

  /** Shows task `id` as the server has it now (another device changed or deleted it). */
  async function refresh(id: string): Promise<void> {
    try {
      const { task } = await call(() => tasks.getTask({ id }));
      if (task) place(TaskEvent_Kind.UPDATED, task);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) {
        const gone = find(id);
        if (gone) place(TaskEvent_Kind.DELETED, gone);
      }
    }
    render();
  }

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
        if (saved) place(TaskEvent_Kind.UPDATED, saved);
        render();
      },
    }));
  }

  function remove(id: string): void {
    const row = rows.get(id);
    const task = find(id);
    if (!row || !task) return;
    row.setError("");
    if (connection.offline) {
      row.cancelDelete();
      toasts.show(OFFLINE_ACTION);
      return;
    }
    call(() => tasks.deleteTask({ id, etag: task.etag })).then(() => {
      place(TaskEvent_Kind.DELETED, task);
      render();
      toasts.show(`“${task.title}” deleted.`);
    }, (error: unknown) => {
      row.cancelDelete();
      if (error instanceof ConnectError && error.code === Code.NotFound) {
        place(TaskEvent_Kind.DELETED, task);
        render();
      } else failed(id, error, "deleted");
    });
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
      shown = mergePage(fresh ? [] : shown, page.tasks);
      nextPageToken = page.nextPageToken;
      total = page.totalSize;
      if (fresh) for (const [kind, task] of sinceAsked ?? []) place(kind, task, false);
      message.textContent = "";
      render();
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
  }

  return {
    elements: [message, count, list, more, sentinel],
    setFilter(change) {
      filter = { ...filter, ...change };
      void loadMore(true);
    },
    reload: () => loadMore(true),
    added(task) {
      place(TaskEvent_Kind.CREATED, task);
      render();
    },
    apply(event) {
      if (!event.task) return;
      place(event.kind, event.task);
      render();
    },
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
