// Quick add: one line, Enter adds. "Call mum tomorrow #family !high" is
// read as a title, a due day, tags and a priority (see `quick-add.ts`), and
// what was understood shows under the line before it is added. Details
// (description, priority, tags, due day) open on demand and win over what
// the line says. The server's messages show next to the field they are
// about, and the draft stays until it is added.
//
// A draft is sent with one request id until it is added, so pressing Enter
// again while it is on its way, or sending it again after an outage, never
// makes a second task; offline, it waits and goes out when the connection
// is back.
import { create } from "@bufbuild/protobuf";
import { type Api } from "../api";
import { type Connection } from "../connection";
import { h } from "../dom";
import { dayTimestamp, dueText, localDay } from "../due-date";
import { describe } from "../errors";
import { Priority, type Task, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { parseQuickAdd } from "../quick-add";
import { FormMessages } from "./form";
import { priorityFrom, priorityNames, priorityOptions, tagsFromInput } from "./task-fields";

export interface AddFormOptions {
  tasks: Pick<Api["tasks"], "createTask">;
  connection: Connection;
  onAdded(task: Task): void;
}

export interface AddForm {
  element: HTMLFormElement;
  focus(): void;
  stop(): void;
}

const WAITING = "You are offline: this task will be added when the connection is back.";

export function addForm({ tasks, connection, onAdded }: AddFormOptions): AddForm {
  const messages = new FormMessages("add-error", "new-");
  const title = h("input", {
    id: "new-title", name: "title", autocomplete: "off", enterkeyhint: "done", "data-testid": "new-title",
    placeholder: "Add a task…", "aria-describedby": "new-understood",
  });
  const description = h("input", { id: "new-description", name: "description", placeholder: "Details (optional)" });
  const priority = h("select", { id: "new-priority", name: "priority" }, ...priorityOptions(Priority.MEDIUM));
  const tags = h("input", { id: "new-tags", name: "tags", placeholder: "home, errands", "data-testid": "new-tags" });
  const due = h("input", { id: "new-due", name: "due", type: "date", "data-testid": "new-due" });
  const add = h("button", { type: "submit", "data-testid": "add" }, "Add");
  const understood = h("p", { class: "understood", id: "new-understood", "data-testid": "understood" });
  const details = h("div", { class: "details", id: "new-details", hidden: true },
    messages.field("Description", description, "description", "field grow"),
    messages.field("Priority", priority, "priority"),
    messages.field("Tags", tags, "tags"),
    messages.field("Due", due, "due"));
  const more: HTMLButtonElement = h("button", {
    type: "button", class: "quiet", "aria-expanded": "false", "aria-controls": details.id, "data-testid": "add-details",
    onclick: () => showDetails(details.hidden),
  }, "Details");
  const element = h("form", { class: "quick-add", "aria-label": "Add a task", "data-testid": "add-form" },
    h("div", { class: "line" }, messages.field("New task", title, "title", "field grow"), more, add),
    understood,
    details,
    messages.general);
  const fields = [title, description, priority, tags, due];
  /** Whether the user chose a priority in the details (else the line's, or the default). */
  let priorityChosen = false;
  priority.addEventListener("change", () => (priorityChosen = true));

  /** The draft's request id, from its first sending until it is added or changed. */
  let requestId: string | undefined;
  let sending = false;
  /** Offline when the user added it: it goes out once the connection is back. */
  let waiting = false;

  for (const field of fields) {
    field.addEventListener("input", () => {
      requestId = undefined;
      waiting = false;
    });
  }
  title.addEventListener("input", explain);

  function showDetails(open: boolean): void {
    details.hidden = !open;
    more.setAttribute("aria-expanded", String(open));
  }

  /** The task the form describes now: the line as read, with the details on top. */
  function draft(): Task {
    const line = parseQuickAdd(title.value, localDay());
    const day = due.value || line.due;
    return create(TaskSchema, {
      title: line.title || title.value,
      description: description.value,
      priority: priorityChosen ? priorityFrom(priority) : line.priority ?? Priority.MEDIUM,
      tags: [...new Set([...line.tags, ...tagsFromInput(tags.value)])],
      dueTime: day ? dayTimestamp(day) : undefined,
    });
  }

  /**
   * Shows what the line was read as, when it says more than a title, and on
   * an empty line how to say more. The line keeps its height either way, so
   * nothing below it moves as the user types or clicks away.
   */
  function explain(): void {
    const line = parseQuickAdd(title.value, localDay());
    const parts = [
      line.due ? `Due ${dueText(line.due, localDay(), true)}` : "",
      line.priority !== undefined ? `${priorityNames[line.priority]} priority` : "",
      ...line.tags.map((tag) => `#${tag}`),
    ].filter(Boolean);
    if (parts.length > 0) understood.replaceChildren(...parts.map((part) => h("span", { class: "chip" }, part)));
    else if (!title.value) understood.replaceChildren(h("span", { class: "tip" }, "Tip: end with fri or 25 dec; add #tags, !high"));
    else understood.replaceChildren();
  }

  async function send(): Promise<void> {
    // An empty line is nothing to add (whitespace is, and the server says what is wrong with it).
    if (sending || (!title.value && details.hidden)) return;
    sending = true;
    add.setAttribute("aria-busy", "true");
    messages.clear();
    requestId ??= crypto.randomUUID();
    try {
      const response = await tasks.createTask({ task: draft(), requestId });
      connection.set(false);
      requestId = undefined;
      waiting = false;
      if (response.task) onAdded(response.task);
      for (const input of [title, description, tags, due]) input.value = "";
      priority.value = String(Priority.MEDIUM);
      priorityChosen = false;
      explain();
      title.focus();
    } catch (error) {
      const problem = describe(error);
      if (problem.offline) {
        connection.set(true);
        waiting = true;
        messages.show({ ...problem, message: WAITING });
      } else {
        // A message about a detail opens the details, so it is seen.
        if (Object.keys(problem.fields).some((field) => field !== "title")) showDetails(true);
        messages.show(problem);
      }
    } finally {
      sending = false;
      add.removeAttribute("aria-busy");
    }
  }

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    void send();
  });
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.activeElement === title && title.value) {
      title.value = "";
      explain();
    }
  });
  const stopListening = connection.onChange((offline) => {
    if (!offline && waiting) void send();
  });
  explain();

  return { element, focus: () => title.focus(), stop: stopListening };
}
