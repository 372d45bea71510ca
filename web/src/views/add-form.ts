// The add form: Enter in any field adds the task; the server's messages show
// next to the field they are about, and the draft stays until it is added.
import { create } from "@bufbuild/protobuf";
import { type Api } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { Priority, type Task, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { FormMessages } from "./form";
import { dueFromInput, priorityFrom, priorityOptions, tagsFromInput } from "./task-fields";

export interface AddFormOptions {
  tasks: Pick<Api["tasks"], "createTask">;
  onAdded(task: Task): void;
  /** The backend could not be reached. */
  onOffline(): void;
}

export interface AddForm {
  element: HTMLFormElement;
  focus(): void;
}

export function addForm({ tasks, onAdded, onOffline }: AddFormOptions): AddForm {
  const messages = new FormMessages("add-error", "new-");
  const title = h("input", { id: "new-title", name: "title", required: true, placeholder: "What needs doing?", "data-testid": "new-title" });
  const description = h("input", { id: "new-description", name: "description", placeholder: "Details (optional)" });
  const priority = h("select", { id: "new-priority", name: "priority" }, ...priorityOptions(Priority.MEDIUM));
  const tags = h("input", { id: "new-tags", name: "tags", placeholder: "home, errands", "data-testid": "new-tags" });
  const due = h("input", { id: "new-due", name: "due", type: "date", "data-testid": "new-due" });
  const element = h("form", { class: "card add" },
    messages.field("New task", title, "title", "field grow"),
    messages.field("Description", description, "description", "field grow"),
    h("div", { class: "inline" },
      messages.field("Priority", priority, "priority"),
      messages.field("Tags", tags, "tags"),
      messages.field("Due", due, "due"),
      h("button", { type: "submit", "data-testid": "add" }, "Add")),
    messages.general);

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    messages.clear();
    const task = create(TaskSchema, {
      title: title.value, description: description.value, priority: priorityFrom(priority),
      tags: tagsFromInput(tags.value), dueTime: dueFromInput(due.value),
    });
    tasks.createTask({ task, requestId: crypto.randomUUID() }).then((response) => {
      if (response.task) onAdded(response.task);
      for (const input of [title, description, tags, due]) input.value = "";
      title.focus();
    }).catch((error: unknown) => {
      const problem = describe(error);
      if (problem.offline) onOffline();
      messages.show(problem);
    });
  });

  return { element, focus: () => title.focus() };
}
