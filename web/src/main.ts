// The todo app: sign-in, the task list with filters and live updates, editing
// with conflict resolution. Plain DOM, rendered from small state objects.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema, type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { auth, bearer, session, tasks, tokensFrom } from "./api";
import { describe, type Problem } from "./errors";
import { Priority, type Task, TaskEvent_Kind, TaskSchema } from "./gen/todo/task/v1/task_pb";
import { applyEvent, defaultFilter, type Filter, isOverdue, mergePage } from "./task-list";
import { watchTasks } from "./watch";
import "./styles.css";

const PAGE_SIZE = 20;
const app = document.getElementById("app") as HTMLElement;

type Attributes = Record<string, string | boolean | ((event: Event) => void)>;

/** Creates an element with attributes (on* become listeners) and children. */
function h(tag: string, attributes: Attributes = {}, ...children: (Node | string | null | undefined)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children) if (child != null) element.append(child);
  return element;
}

const priorityNames: Record<number, string> = { [Priority.LOW]: "Low", [Priority.MEDIUM]: "Medium", [Priority.HIGH]: "High" };

function priorityOptions(selected: Priority, anyLabel?: string): HTMLElement[] {
  const options = anyLabel ? [h("option", { value: "0", selected: selected === Priority.UNSPECIFIED }, anyLabel)] : [];
  for (const priority of [Priority.LOW, Priority.MEDIUM, Priority.HIGH]) {
    options.push(h("option", { value: String(priority), selected: selected === priority }, priorityNames[priority]));
  }
  return options;
}

function dueFromInput(value: string): Timestamp | undefined {
  return value ? timestampFromMs(new Date(`${value}T23:59:59`).getTime()) : undefined;
}

function dueToInput(task: Task): string {
  if (!task.dueTime) return "";
  const date = new Date(Number(task.dueTime.seconds) * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function tagsFromInput(value: string): string[] {
  return value.split(",").map((tag) => tag.trim()).filter(Boolean);
}

// ---------- sign in / sign up ----------

function showAuth(): void {
  const field = (name: string, label: string, type: string, autocomplete: string) =>
    h("div", { class: "field" },
      h("label", { for: name }, label),
      h("input", { id: name, name, type, autocomplete, required: true }),
      h("p", { class: "field-error", id: `${name}-error`, "data-testid": `${name}-error`, role: "alert" }));
  const general = h("p", { class: "form-error", "data-testid": "auth-error", role: "alert" });
  const form = h("form", { class: "card auth", novalidate: true },
    h("h1", {}, "Todo"),
    h("p", { class: "muted" }, "Sign in, or create an account with any email and a password of 8 or more characters."),
    field("email", "Email", "email", "username"),
    field("password", "Password", "password", "current-password"),
    general,
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in"),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-up", onclick: () => submit("signup") }, "Create account")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit("login");
  });
  app.replaceChildren(form);
  (form.querySelector("#email") as HTMLInputElement).focus();

  async function submit(mode: "login" | "signup"): Promise<void> {
    const email = (form.querySelector("#email") as HTMLInputElement).value;
    const password = (form.querySelector("#password") as HTMLInputElement).value;
    for (const slot of form.querySelectorAll(".field-error, .form-error")) slot.textContent = "";
    try {
      if (mode === "signup") await auth.signUp({ email, password });
      const response = await auth.login({ email, password });
      session.save(tokensFrom(response, response.user?.email ?? email));
      showTasks();
    } catch (error) {
      const problem = describe(error, mode);
      const slot = problem.field ? form.querySelector(`#${problem.field}-error`) : general;
      (slot ?? general).textContent = problem.message;
    }
  }
}

// ---------- the task list ----------

interface ListState {
  tasks: Task[];
  nextPageToken: string;
  total: number;
  filter: Filter;
  loading: boolean;
  /** Open editors by task id: live updates re-render the list but keep them. */
  editing: Map<string, HTMLElement>;
}

let stopWatching: (() => void) | undefined;

function showTasks(): void {
  const state: ListState = { tasks: [], nextPageToken: "", total: 0, filter: { ...defaultFilter }, loading: false, editing: new Map() };
  const email = session.tokens?.email ?? "";
  const banner = h("div", { class: "banner", "data-testid": "banner", role: "status", hidden: true });
  const message = h("p", { class: "form-error", "data-testid": "list-error", role: "alert" });
  const list = h("ul", { class: "tasks", "data-testid": "task-list", "aria-live": "polite" });
  const count = h("p", { class: "muted", "data-testid": "count" });
  const more = h("button", { type: "button", class: "secondary", "data-testid": "load-more", hidden: true, onclick: () => void loadMore() }, "Load more");

  const setOffline = (offline: boolean) => {
    banner.hidden = !offline;
    banner.textContent = offline ? "Reconnecting… your changes will show up again when the connection is back." : "";
  };

  /** Runs a call with the session's token; handles offline and ended sessions. */
  async function call<T>(work: (options: { headers: Record<string, string> }) => Promise<T>): Promise<T | undefined> {
    try {
      const result = await session.withToken((token) => work(bearer(token)));
      setOffline(false);
      return result;
    } catch (error) {
      const problem = describe(error);
      if (problem.offline) setOffline(true);
      else if (error instanceof ConnectError && error.code === Code.Unauthenticated) signOut(false);
      else message.textContent = problem.message;
      throw error;
    }
  }

  function render(): void {
    list.replaceChildren(...state.tasks.map((task) => state.editing.get(task.id) ?? renderTask(task)));
    count.textContent = `${state.total} ${state.total === 1 ? "task" : "tasks"}`;
    more.hidden = !state.nextPageToken;
  }

  async function reload(): Promise<void> {
    state.nextPageToken = "";
    state.tasks = [];
    await loadMore(true);
  }

  async function loadMore(fresh = false): Promise<void> {
    if (state.loading || (!fresh && !state.nextPageToken)) return;
    state.loading = true;
    const filter = state.filter;
    try {
      const page = await call((options) => tasks.listTasks({
        pageSize: PAGE_SIZE,
        pageToken: fresh ? "" : state.nextPageToken,
        query: filter.query,
        completed: filter.state === "all" ? undefined : filter.state === "done",
        tags: filter.tag.trim() ? [filter.tag.trim()] : [],
        priority: filter.priority,
        orderBy: filter.order,
      }, options));
      if (page && filter === state.filter) {
        state.tasks = mergePage(fresh ? [] : state.tasks, page.tasks);
        state.nextPageToken = page.nextPageToken;
        state.total = page.totalSize;
        message.textContent = "";
        render();
      }
    } catch {
      // Shown by `call`.
    } finally {
      state.loading = false;
    }
  }

  function setFilter(change: Partial<Filter>): void {
    state.filter = { ...state.filter, ...change };
    void reload();
  }

  async function save(task: Task, paths: string[]): Promise<Task | undefined> {
    const response = await call((options) => tasks.updateTask({ task, updateMask: create(FieldMaskSchema, { paths }) }, options));
    return response?.task;
  }

  function renderTask(task: Task): HTMLElement {
    const checkbox = h("input", { type: "checkbox", id: `done-${task.id}`, "data-testid": "toggle", checked: task.completed }) as HTMLInputElement;
    checkbox.addEventListener("change", () => {
      const next = create(TaskSchema, { id: task.id, completed: checkbox.checked, etag: task.etag });
      save(next, ["completed"]).catch(() => {
        checkbox.checked = task.completed;
      });
    });
    const overdue = isOverdue(task, Date.now());
    const item = h("li", { class: `task${task.completed ? " done" : ""}`, "data-testid": "task", "data-id": task.id },
      checkbox,
      h("div", { class: "body" },
        h("label", { for: `done-${task.id}`, class: "title", "data-testid": "title" }, task.title),
        task.description ? h("p", { class: "description" }, task.description) : null,
        h("div", { class: "meta" },
          h("span", { class: `priority p${task.priority}` }, priorityNames[task.priority] ?? ""),
          ...task.tags.map((tag) => h("button", { type: "button", class: "tag", onclick: () => { tagInput.value = tag; setFilter({ tag }); } }, `#${tag}`)),
          task.dueTime ? h("span", { class: `due${overdue ? " overdue" : ""}`, "data-testid": "due" },
            `${overdue ? "Overdue: " : "Due "}${new Date(Number(task.dueTime.seconds) * 1000).toLocaleDateString()}`) : null)),
      h("div", { class: "row-actions" },
        h("button", { type: "button", class: "secondary", "data-testid": "edit", onclick: () => item.replaceWith(renderEditor(task)) }, "Edit"),
        h("button", { type: "button", class: "danger", "data-testid": "delete", onclick: () => confirmDelete() }, "Delete")));
    function confirmDelete(): void {
      const actions = item.querySelector(".row-actions") as HTMLElement;
      actions.replaceChildren(
        h("span", { class: "muted" }, "Delete?"),
        h("button", { type: "button", class: "danger", "data-testid": "confirm-delete", onclick: () => {
          void call((options) => tasks.deleteTask({ id: task.id, etag: "" }, options)).then(() => {
            // The live DELETED event may have removed it already: count it once.
            if (state.tasks.some((t) => t.id === task.id)) state.total -= 1;
            state.tasks = state.tasks.filter((t) => t.id !== task.id);
            render();
          }).catch(() => undefined);
        } }, "Delete"),
        h("button", { type: "button", class: "secondary", onclick: () => render() }, "Cancel"));
      (actions.querySelector("[data-testid=confirm-delete]") as HTMLElement).focus();
    }
    return item;
  }

  function renderEditor(task: Task): HTMLElement {
    const input = (name: string, label: string, value: string, type = "text") =>
      h("div", { class: "field" }, h("label", { for: `${name}-${task.id}` }, label), h("input", { id: `${name}-${task.id}`, name, type, value }));
    const problem = h("p", { class: "form-error", "data-testid": "edit-error", role: "alert" });
    const priority = h("select", { id: `priority-${task.id}`, name: "priority" }, ...priorityOptions(task.priority));
    const form = h("form", { class: "task editor", "data-testid": "editor" },
      input("title", "Title", task.title),
      input("description", "Description", task.description),
      h("div", { class: "inline" },
        h("div", { class: "field" }, h("label", { for: `priority-${task.id}` }, "Priority"), priority),
        input("tags", "Tags (comma-separated)", task.tags.join(", ")),
        input("due", "Due", dueToInput(task), "date")),
      problem,
      h("div", { class: "actions" },
        h("button", { type: "submit", "data-testid": "save" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => close(task) }, "Cancel")));
    state.editing.set(task.id, form);
    // Closing shows `shown`, the version to keep (the saved one, or theirs).
    function close(shown: Task): void {
      state.editing.delete(task.id);
      state.tasks = state.tasks.map((t) => (t.id === shown.id ? shown : t));
      form.replaceWith(renderTask(shown));
    }
    const value = (name: string) => (form.querySelector(`[name=${name}]`) as HTMLInputElement).value;
    const edited = (etag: string) => create(TaskSchema, {
      id: task.id, etag, title: value("title"), description: value("description"),
      priority: Number(value("priority")) as Priority, tags: tagsFromInput(value("tags")), dueTime: dueFromInput(value("due")),
    });
    const paths = ["title", "description", "priority", "tags", "due_time"];
    async function submit(etag: string): Promise<void> {
      try {
        const saved = await session.withToken((token) => tasks.updateTask({ task: edited(etag), updateMask: create(FieldMaskSchema, { paths }) }, bearer(token)));
        if (saved.task) close(saved.task);
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.Aborted) return showConflict();
        const described: Problem = describe(error);
        problem.textContent = described.message;
      }
    }
    // Someone else saved first: show their version, and let the user keep it or apply theirs on top.
    async function showConflict(): Promise<void> {
      const current = await call((options) => tasks.getTask({ id: task.id }, options)).catch(() => undefined);
      if (!current?.task) return;
      const theirs = current.task;
      problem.replaceChildren(
        h("span", { "data-testid": "conflict" }, `Someone else changed this task meanwhile. Their version: “${theirs.title}”${theirs.completed ? " (done)" : ""}. `),
        h("button", { type: "button", "data-testid": "overwrite", onclick: () => void submit(theirs.etag) }, "Save mine anyway"),
        h("button", { type: "button", class: "secondary", "data-testid": "keep-theirs", onclick: () => close(theirs) }, "Keep theirs"));
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void submit(task.etag);
    });
    queueMicrotask(() => (form.querySelector("[name=title]") as HTMLInputElement).focus());
    return form;
  }

  // The add form: Enter in any field adds the task.
  const addTitle = h("input", { id: "new-title", name: "title", required: true, placeholder: "What needs doing?", "data-testid": "new-title" }) as HTMLInputElement;
  const addDescription = h("input", { id: "new-description", name: "description", placeholder: "Details (optional)" }) as HTMLInputElement;
  const addPriority = h("select", { id: "new-priority", name: "priority" }, ...priorityOptions(Priority.MEDIUM)) as HTMLSelectElement;
  const addTags = h("input", { id: "new-tags", name: "tags", placeholder: "home, errands", "data-testid": "new-tags" }) as HTMLInputElement;
  const addDue = h("input", { id: "new-due", name: "due", type: "date", "data-testid": "new-due" }) as HTMLInputElement;
  const addError = h("p", { class: "form-error", "data-testid": "add-error", role: "alert" });
  const addForm = h("form", { class: "card add" },
    h("div", { class: "field grow" }, h("label", { for: "new-title" }, "New task"), addTitle),
    h("div", { class: "field grow" }, h("label", { for: "new-description" }, "Description"), addDescription),
    h("div", { class: "inline" },
      h("div", { class: "field" }, h("label", { for: "new-priority" }, "Priority"), addPriority),
      h("div", { class: "field" }, h("label", { for: "new-tags" }, "Tags"), addTags),
      h("div", { class: "field" }, h("label", { for: "new-due" }, "Due"), addDue),
      h("button", { type: "submit", "data-testid": "add" }, "Add")),
    addError);
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addError.textContent = "";
    const task = create(TaskSchema, {
      title: addTitle.value, description: addDescription.value, priority: Number(addPriority.value) as Priority,
      tags: tagsFromInput(addTags.value), dueTime: dueFromInput(addDue.value),
    });
    const requestId = crypto.randomUUID();
    session.withToken((token) => tasks.createTask({ task, requestId }, bearer(token))).then((response) => {
      if (response.task) {
        const created = response.task;
        // The live CREATED event may have shown it already: count it once.
        const before = state.tasks.some((t) => t.id === created.id);
        state.tasks = applyEvent(state.tasks, TaskEvent_Kind.CREATED, created, state.filter);
        state.total += Number(state.tasks.some((t) => t.id === created.id)) - Number(before);
        render();
      }
      addTitle.value = "";
      addDescription.value = "";
      addTags.value = "";
      addDue.value = "";
      addTitle.focus();
    }).catch((error: unknown) => {
      const problem = describe(error);
      if (problem.offline) setOffline(true);
      addError.textContent = problem.message;
    });
  });

  // Filters.
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const search = h("input", { id: "search", type: "search", placeholder: "Search", "data-testid": "search", oninput: () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter({ query: (search as HTMLInputElement).value }), 250);
  } });
  const tagInput = h("input", { id: "tag-filter", placeholder: "any tag", "data-testid": "tag-filter", onchange: () => setFilter({ tag: (tagInput as HTMLInputElement).value }) }) as HTMLInputElement;
  const stateButtons = (["all", "open", "done"] as const).map((value) =>
    h("button", { type: "button", class: "segment", "data-testid": `filter-${value}`, "aria-pressed": String(value === "all"), onclick: (event: Event) => {
      for (const button of stateButtons) button.setAttribute("aria-pressed", String(button === event.currentTarget));
      setFilter({ state: value });
    } }, value[0].toUpperCase() + value.slice(1)));
  const filters = h("div", { class: "filters", role: "search" },
    h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search),
    h("div", { class: "field" }, h("span", { class: "label" }, "Show"), h("div", { class: "segments", role: "group", "aria-label": "Show" }, ...stateButtons)),
    h("div", { class: "field" }, h("label", { for: "tag-filter" }, "Tag"), tagInput),
    h("div", { class: "field" }, h("label", { for: "priority-filter" }, "Priority"),
      h("select", { id: "priority-filter", "data-testid": "priority-filter", onchange: (event: Event) => setFilter({ priority: Number((event.target as HTMLSelectElement).value) as Priority }) }, ...priorityOptions(Priority.UNSPECIFIED, "Any"))),
    h("div", { class: "field" }, h("label", { for: "sort" }, "Sort"),
      h("select", { id: "sort", "data-testid": "sort", onchange: (event: Event) => setFilter({ order: (event.target as HTMLSelectElement).value }) },
        ...[["create_time desc", "Newest"], ["create_time asc", "Oldest"], ["due_time asc", "Due soonest"], ["priority desc", "Priority"], ["title asc", "Title A–Z"], ["title desc", "Title Z–A"], ["update_time desc", "Recently changed"]]
          .map(([value, label]) => h("option", { value }, label)))));

  const sentinel = h("div", { class: "sentinel" });
  function signOut(callServer = true): void {
    stopWatching?.();
    const token = session.tokens?.accessToken;
    if (callServer && token) void auth.logout({}, bearer(token)).catch(() => undefined);
    session.clear();
    showAuth();
  }

  app.replaceChildren(
    h("header", { class: "top" }, h("h1", {}, "Todo"), h("span", { class: "muted", "data-testid": "user" }, email),
      h("button", { type: "button", class: "secondary", "data-testid": "sign-out", onclick: () => signOut() }, "Sign out")),
    banner, addForm, filters, message, count, list, more, sentinel);
  addTitle.focus();
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) void loadMore();
  }).observe(sentinel);

  stopWatching?.();
  stopWatching = watchTasks({
    onEvent(event) {
      if (!event.task) return;
      const before = state.tasks.some((t) => t.id === event.task?.id);
      state.tasks = applyEvent(state.tasks, event.kind, event.task, state.filter);
      const after = state.tasks.some((t) => t.id === event.task?.id);
      state.total += Number(after) - Number(before);
      render();
    },
    onConnected() {
      setOffline(false);
      void reload();
    },
    onDisconnected() {
      setOffline(true);
    },
  });
}

if (session.tokens) showTasks();
else showAuth();
