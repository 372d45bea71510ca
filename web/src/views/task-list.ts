// The list of tasks on screen: pages loaded as the user scrolls, live events
// placed under the current filter and order, open editors kept across
// re-renders, and the count. `data-live="connected"` on the list says it was
// loaded after the live stream opened, so it is in sync and stays so.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { type Api } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { type Task, type TaskEvent, TaskEvent_Kind, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { applyEvent, defaultFilter, type Filter, mergePage } from "../task-list";
import { taskEditor } from "./task-editor";
import { taskRow } from "./task-row";

const PAGE_SIZE = 20;

export interface TaskListOptions {
  tasks: Pick<Api["tasks"], "listTasks" | "updateTask" | "deleteTask" | "getTask">;
  /** Whether the backend answered (false) or could not be reached (true). */
  onOffline(offline: boolean): void;
  filterByTag(tag: string): void;
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

export function taskList({ tasks, onOffline, filterByTag }: TaskListOptions): TaskList {
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
  /** Open editors by task id: live updates re-render the list but keep them. */
  const editing = new Map<string, HTMLFormElement>();

  const message = h("p", { class: "form-error", "data-testid": "list-error", role: "alert" });
  const count = h("p", { class: "muted", "data-testid": "count" });
  const list = h("ul", { class: "tasks", "data-testid": "task-list", "aria-live": "polite", "data-live": "connecting" });
  const more = h("button", { type: "button", class: "secondary", "data-testid": "load-more", hidden: true, onclick: () => void loadMore(false) }, "Load more");
  const sentinel = h("div", { class: "sentinel" });
  const scrolled = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) void loadMore(false);
  });
  scrolled.observe(sentinel);

  /** Runs a call for the list; shows what went wrong above it. */
  async function call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      onOffline(false);
      return result;
    } catch (error) {
      const problem = describe(error);
      if (problem.offline) onOffline(true);
      else message.textContent = problem.message;
      throw error;
    }
  }

  function render(): void {
    list.replaceChildren(...shown.map((task) => editing.get(task.id) ?? row(task)));
    count.textContent = `${total} ${total === 1 ? "task" : "tasks"}`;
    more.hidden = !nextPageToken;
  }

  function row(task: Task): HTMLLIElement {
    return taskRow(task, {
      setCompleted: (current, completed) => save(create(TaskSchema, { id: current.id, completed, etag: current.etag }), ["completed"]),
      filterByTag,
      edit: (current, item) => item.replaceWith(editor(current)),
      remove: (current) => void call(() => tasks.deleteTask({ id: current.id, etag: "" })).then(() => {
        place(TaskEvent_Kind.DELETED, current);
        render();
      }, () => undefined),
    });
  }

  function editor(task: Task): HTMLFormElement {
    const form = taskEditor({
      tasks,
      task,
      onClose(kept) {
        editing.delete(task.id);
        shown = shown.map((existing) => (existing.id === kept.id ? kept : existing));
        form.replaceWith(row(kept));
      },
    });
    editing.set(task.id, form);
    return form;
  }

  async function save(task: Task, paths: string[]): Promise<void> {
    await call(() => tasks.updateTask({ task, updateMask: create(FieldMaskSchema, { paths }) }));
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
    } catch {
      // Shown by `call`.
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
