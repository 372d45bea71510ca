// Editing a task in place. Saves are conditional on the version being edited
// (its etag): when another device saved first, that version is shown and the
// user keeps it or saves theirs on top. Escape or Cancel closes it unsaved.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { type Task, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { FormMessages } from "./form";
import { dueFromInput, dueToInput, priorityFrom, priorityOptions, tagsFromInput } from "./task-fields";

export interface EditorOptions {
  tasks: Pick<Api["tasks"], "updateTask" | "getTask">;
  task: Task;
  /** Closes the editor: with the version saved or kept, or nothing when cancelled. */
  onClose(saved?: Task): void;
  /** Deletes the task (the way to delete on a touch screen, where rows show no buttons). */
  onDelete(): void;
}

const EDITED = ["title", "description", "priority", "tags", "due_time"];

const OFFLINE_EDIT = "You are offline: your changes are kept here. Save again once the connection is back.";

export function taskEditor({ tasks, task, onClose, onDelete }: EditorOptions): HTMLFormElement {
  const messages = new FormMessages("edit-error", "edit-");
  const input = (name: string, value: string, type = "text") => h("input", { id: `${name}-${task.id}`, name, type, value });
  const title = input("title", task.title);
  const description = input("description", task.description);
  const priority = h("select", { id: `priority-${task.id}`, name: "priority" }, ...priorityOptions(task.priority));
  const tags = input("tags", task.tags.join(", "));
  const due = input("due", dueToInput(task), "date");
  const form = h("form", { class: "editor", "data-testid": "editor", "aria-label": `Edit “${task.title}”` },
    messages.field("Title", title, "title"),
    messages.field("Description", description, "description"),
    h("div", { class: "inline" },
      messages.field("Priority", priority, "priority"),
      messages.field("Tags (comma-separated)", tags, "tags"),
      messages.field("Due", due, "due")),
    messages.general,
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "save" }, "Save"),
      h("button", { type: "button", class: "secondary", onclick: () => onClose() }, "Cancel"),
      h("button", { type: "button", class: "danger push", "data-testid": "editor-delete", onclick: onDelete }, "Delete")));

  const edited = (etag: string) => create(TaskSchema, {
    id: task.id, etag, title: title.value, description: description.value,
    priority: priorityFrom(priority), tags: tagsFromInput(tags.value), dueTime: dueFromInput(due.value),
  });

  async function save(etag: string): Promise<void> {
    try {
      const saved = await tasks.updateTask({ task: edited(etag), updateMask: create(FieldMaskSchema, { paths: EDITED }) });
      if (saved.task) onClose(saved.task);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.Aborted) await showConflict();
      else {
        const problem = describe(error);
        messages.show(problem.offline ? { ...problem, message: OFFLINE_EDIT } : problem);
      }
    }
  }

  async function showConflict(): Promise<void> {
    let theirs: Task | undefined;
    try {
      theirs = (await tasks.getTask({ id: task.id })).task;
    } catch (error) {
      messages.show(describe(error));
      return;
    }
    if (!theirs) return;
    const current = theirs;
    messages.clear();
    messages.general.replaceChildren(
      h("span", { "data-testid": "conflict" }, `This task was changed on another device meanwhile. That version: “${current.title}”${current.completed ? " (done)" : ""}. `),
      h("span", { class: "actions conflict-actions" },
        h("button", { type: "button", "data-testid": "overwrite", onclick: () => void save(current.etag) }, "Save mine anyway"),
        h("button", { type: "button", class: "secondary", "data-testid": "keep-theirs", onclick: () => onClose(current) }, "Keep that version")));
  }

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    onClose();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void save(task.etag);
  });
  queueMicrotask(() => title.focus());
  return form;
}
