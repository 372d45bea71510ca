// The add form: Enter in any field adds the task; the server's messages show
// next to the field they are about, and the draft stays until it is added.
// A draft is sent with one request id until it is added, so pressing Enter
// again while it is on its way, or sending it again after an outage, never
// makes a second task; offline, it waits and goes out when the connection is
// back.
import { create } from "@bufbuild/protobuf";
import { type Api } from "../api";
import { type Connection } from "../connection";
import { h } from "../dom";
import { describe } from "../errors";
import { Priority, type Task, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { FormMessages } from "./form";
import { dueFromInput, priorityFrom, priorityOptions, tagsFromInput } from "./task-fields";

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
  const title = h("input", { id: "new-title", name: "title", required: true, placeholder: "What needs doing?", "data-testid": "new-title" });
  const description = h("input", { id: "new-description", name: "description", placeholder: "Details (optional)" });
  const priority = h("select", { id: "new-priority", name: "priority" }, ...priorityOptions(Priority.MEDIUM));
  const tags = h("input", { id: "new-tags", name: "tags", placeholder: "home, errands", "data-testid": "new-tags" });
  const due = h("input", { id: "new-due", name: "due", type: "date", "data-testid": "new-due" });
  const add = h("button", { type: "submit", "data-testid": "add" }, "Add");
  const element = h("form", { class: "card add" },
    messages.field("New task", title, "title", "field grow"),
    messages.field("Description", description, "description", "field grow"),
    h("div", { class: "inline" },
      messages.field("Priority", priority, "priority"),
      messages.field("Tags", tags, "tags"),
      messages.field("Due", due, "due"),
      add),
    messages.general);
  const fields = [title, description, priority, tags, due];

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

  async function send(): Promise<void> {
    if (sending) return;
    sending = true;
    add.setAttribute("aria-busy", "true");
    messages.clear();
    requestId ??= crypto.randomUUID();
    const task = create(TaskSchema, {
      title: title.value, description: description.value, priority: priorityFrom(priority),
      tags: tagsFromInput(tags.value), dueTime: dueFromInput(due.value),
    });
    try {
      const response = await tasks.createTask({ task, requestId });
      connection.set(false);
      requestId = undefined;
      waiting = false;
      if (response.task) onAdded(response.task);
      for (const input of [title, description, tags, due]) input.value = "";
      priority.value = String(Priority.MEDIUM);
      title.focus();
    } catch (error) {
      const problem = describe(error);
      if (problem.offline) {
        connection.set(true);
        waiting = true;
        messages.show({ ...problem, message: WAITING });
      } else messages.show(problem);
    } finally {
      sending = false;
      add.removeAttribute("aria-busy");
    }
  }

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    void send();
  });
  const stopListening = connection.onChange((offline) => {
    if (!offline && waiting) void send();
  });

  return { element, focus: () => title.focus(), stop: stopListening };
}
