// One task in the list: its checkbox, its title (a click opens it for
// editing), details, tags and due day, and Edit and Delete. The row is made
// once per task and updated in place, so whatever has focus in it keeps it
// when the task changes (here or on another device); the editor opens
// inside the row.
import { h } from "../dom";
import { type Day, dueDay, isOverdue } from "../due-date";
import { type Task } from "../gen/todo/task/v1/task_pb";
import { priorityNames } from "./task-fields";

export interface RowActions {
  /** The user ticked or unticked the checkbox. */
  setCompleted(id: string, completed: boolean): void;
  edit(id: string): void;
  remove(id: string): void;
  filterByTag(tag: string): void;
}

export interface TaskRow {
  readonly element: HTMLLIElement;
  /** Shows `task`; `completed` is what the checkbox shows meanwhile (a change may be on its way). */
  update(task: Task, completed: boolean, today: Day): void;
  /** Replaces the row's content by `editor` until `closeEditor`. */
  showEditor(editor: HTMLElement): void;
  /** Back to the task, with focus on its title. */
  closeEditor(): void;
  readonly editing: boolean;
  /** A message about this task only (a failed change), or "" to clear it. */
  setError(message: string): void;
  /** Puts focus on the checkbox. */
  focus(): void;
  /** Takes back a "Delete?" prompt, if one is open. */
  cancelDelete(): void;
}

/** A per-row control's name: what it does and to which task. */
const named = (verb: string, task: Task) => `${verb} “${task.title}”`;

export function taskRow(initial: Task, actions: RowActions, today: Day): TaskRow {
  let task = initial;
  let editor: HTMLElement | undefined;
  const id = task.id;
  const checkbox = h("input", { type: "checkbox", class: "check", "data-testid": "toggle", "aria-labelledby": `task-title-${id}`, "aria-describedby": `task-meta-${id}` });
  checkbox.addEventListener("change", () => actions.setCompleted(id, checkbox.checked));
  const title = h("button", { type: "button", class: "title", id: `task-title-${id}`, "data-testid": "title", onclick: () => actions.edit(id) });
  const description = h("p", { class: "description" });
  const meta = h("div", { class: "meta", id: `task-meta-${id}` });
  const edit = h("button", { type: "button", class: "secondary", "data-testid": "edit", onclick: () => actions.edit(id) }, "Edit");
  const remove = h("button", { type: "button", class: "danger", "data-testid": "delete", onclick: confirmDelete }, "Delete");
  const rowActions = h("div", { class: "row-actions" }, edit, remove);
  const view = h("div", { class: "view" }, checkbox, h("div", { class: "body" }, title, description, meta), rowActions);
  const error = h("p", { class: "row-error", role: "alert", "data-testid": "row-error" });
  const element = h("li", { class: "task", "data-testid": "task", "data-id": id }, view, error);
  /** What the meta line was made from, so it is rebuilt (and a focused tag lost) only when it changes. */
  let metaKey = "";

  function confirmDelete(): void {
    const confirm = h("button", { type: "button", class: "danger", "data-testid": "confirm-delete", "aria-label": named("Delete", task), onclick: () => actions.remove(id) }, "Delete");
    const cancel = h("button", { type: "button", class: "secondary", onclick: cancelDelete }, "Cancel");
    rowActions.replaceChildren(h("span", { class: "muted" }, "Delete?"), confirm, cancel);
    rowActions.addEventListener("keydown", escapeCancels);
    confirm.focus();
  }

  function cancelDelete(): void {
    if (rowActions.contains(edit)) return;
    rowActions.removeEventListener("keydown", escapeCancels);
    const hadFocus = rowActions.contains(document.activeElement);
    rowActions.replaceChildren(edit, remove);
    if (hadFocus) remove.focus();
  }

  function escapeCancels(event: KeyboardEvent): void {
    if (event.key !== "Escape") return;
    event.preventDefault();
    cancelDelete();
  }

  /** What the row shows now, so an unchanged task costs nothing. */
  let drawn: [Task, boolean, Day] | undefined;

  function update(next: Task, completed: boolean, today: Day): void {
    // The browser ticks the box before the app decides, so this is set every time.
    checkbox.checked = completed;
    element.classList.toggle("done", completed);
    if (drawn && drawn[0] === next && drawn[1] === completed && drawn[2] === today) return;
    drawn = [next, completed, today];
    task = next;
    title.textContent = next.title;
    description.textContent = next.description;
    description.hidden = !next.description;
    edit.setAttribute("aria-label", named("Edit", next));
    remove.setAttribute("aria-label", named("Delete", next));
    const day = dueDay(next);
    const overdue = isOverdue(next, today);
    const key = JSON.stringify([next.priority, next.tags, day, overdue]);
    if (key === metaKey) return;
    metaKey = key;
    const parts: Node[] = [
      h("span", { class: `priority p${next.priority}` }, priorityNames[next.priority] ?? ""),
      ...next.tags.map((tag) => h("button", { type: "button", class: "tag", title: `Show tasks tagged ${tag}`, onclick: () => actions.filterByTag(tag) }, `#${tag}`)),
    ];
    if (day) {
      parts.push(h("time", { class: `due${overdue ? " overdue" : ""}`, "data-testid": "due", datetime: day },
        `${overdue ? "Overdue: " : "Due "}${new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { timeZone: "UTC" })}`));
    }
    meta.replaceChildren(...parts);
  }

  update(initial, initial.completed, today);
  return {
    element,
    update,
    showEditor(form) {
      editor = form;
      view.replaceWith(form);
    },
    closeEditor() {
      editor?.replaceWith(view);
      editor = undefined;
      title.focus();
    },
    get editing() {
      return editor !== undefined;
    },
    setError(message) {
      error.textContent = message;
    },
    focus() {
      checkbox.focus();
    },
    cancelDelete,
  };
}
