// One task in the list: its checkbox, title, details and tags, and Edit and
// Delete (which asks first).
import { h } from "../dom";
import { type Task } from "../gen/todo/task/v1/task_pb";
import { isOverdue } from "../task-list";
import { priorityNames } from "./task-fields";

export interface RowActions {
  /** Saves the new state; a rejection puts the checkbox back. */
  setCompleted(task: Task, completed: boolean): Promise<unknown>;
  filterByTag(tag: string): void;
  edit(task: Task, row: HTMLLIElement): void;
  remove(task: Task): void;
}

export function taskRow(task: Task, actions: RowActions, now = Date.now()): HTMLLIElement {
  const checkbox = h("input", { type: "checkbox", id: `done-${task.id}`, "data-testid": "toggle", checked: task.completed });
  checkbox.addEventListener("change", () => {
    actions.setCompleted(task, checkbox.checked).catch(() => {
      checkbox.checked = task.completed;
    });
  });
  const overdue = isOverdue(task, now);
  const due = task.dueTime && h("span", { class: `due${overdue ? " overdue" : ""}`, "data-testid": "due" },
    `${overdue ? "Overdue: " : "Due "}${new Date(Number(task.dueTime.seconds) * 1000).toLocaleDateString()}`);
  const edit = h("button", { type: "button", class: "secondary", "data-testid": "edit", onclick: () => actions.edit(task, row) }, "Edit");
  const remove = h("button", { type: "button", class: "danger", "data-testid": "delete", onclick: () => confirmDelete() }, "Delete");
  const rowActions = h("div", { class: "row-actions" }, edit, remove);
  const row = h("li", { class: `task${task.completed ? " done" : ""}`, "data-testid": "task", "data-id": task.id },
    checkbox,
    h("div", { class: "body" },
      h("label", { for: checkbox.id, class: "title", "data-testid": "title" }, task.title),
      task.description ? h("p", { class: "description" }, task.description) : null,
      h("div", { class: "meta" },
        h("span", { class: `priority p${task.priority}` }, priorityNames[task.priority] ?? ""),
        ...task.tags.map((tag) => h("button", { type: "button", class: "tag", onclick: () => actions.filterByTag(tag) }, `#${tag}`)),
        due)),
    rowActions);

  function confirmDelete(): void {
    const confirm = h("button", { type: "button", class: "danger", "data-testid": "confirm-delete", onclick: () => actions.remove(task) }, "Delete");
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => rowActions.replaceChildren(edit, remove) }, "Cancel");
    rowActions.replaceChildren(h("span", { class: "muted" }, "Delete?"), confirm, cancel);
    confirm.focus();
  }

  return row;
}
