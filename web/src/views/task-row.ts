// One task in the list: a round checkbox ringed in its priority's colour,
// its title (a click opens it for editing), its due day as people say it,
// tags and details, and Edit and Delete, which show on hover or focus (on a
// touch screen the editor holds Delete). The row is made once per task and
// updated in place, so whatever has focus in it keeps it when the task
// changes, here or on another device; the editor opens inside the row.
import { h } from "../dom";
import { type Day, dueDay, dueText, fullDateText, isOverdue } from "../due-date";
import { Priority, type Task } from "../gen/todo/task/v1/task_pb";
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
}

/** A per-row control's name: what it does and to which task. */
const named = (verb: string, task: Task) => `${verb} “${task.title}”`;

/** `scope` keeps element ids apart when two lists on the page hold the same task (Done, and All's folded Completed). */
export function taskRow(initial: Task, actions: RowActions, today: Day, scope: string): TaskRow {
  let editor: HTMLElement | undefined;
  const id = initial.id;
  const titleId = `${scope}-title-${id}`;
  const metaId = `${scope}-meta-${id}`;
  const checkbox = h("input", { type: "checkbox", class: "check", "data-testid": "toggle", "aria-labelledby": titleId, "aria-describedby": metaId });
  checkbox.addEventListener("change", () => actions.setCompleted(id, checkbox.checked));
  const title = h("button", { type: "button", class: "title", id: titleId, "data-testid": "title", onclick: () => actions.edit(id) });
  const description = h("p", { class: "description" });
  const meta = h("div", { class: "meta", id: metaId });
  const edit = h("button", { type: "button", class: "quiet", "data-testid": "edit", onclick: () => actions.edit(id) }, "Edit");
  const remove = h("button", { type: "button", class: "quiet danger", "data-testid": "delete", onclick: () => actions.remove(id) }, "Delete");
  const view = h("div", { class: "view" },
    checkbox,
    h("div", { class: "body" }, title, description, meta),
    h("div", { class: "row-actions" }, edit, remove));
  const error = h("p", { class: "row-error", role: "alert", "data-testid": "row-error" });
  const element = h("li", { class: "task", "data-testid": "task", "data-id": id }, view, error);
  /** What the row shows now, so an unchanged task costs nothing. */
  let drawn: [Task, boolean, Day] | undefined;
  let metaKey = "";

  function update(task: Task, completed: boolean, day: Day): void {
    // The browser ticks the box before the app decides, so this is set every time.
    checkbox.checked = completed;
    element.classList.toggle("done", completed);
    if (drawn && drawn[0] === task && drawn[1] === completed && drawn[2] === day) return;
    drawn = [task, completed, day];
    element.dataset.priority = Priority[task.priority]?.toLowerCase() ?? "";
    title.textContent = task.title;
    description.textContent = task.description;
    description.hidden = !task.description;
    edit.setAttribute("aria-label", named("Edit", task));
    remove.setAttribute("aria-label", named("Delete", task));
    const due = dueDay(task);
    const overdue = isOverdue(task, day);
    const parts: Node[] = [];
    if (due) {
      parts.push(h("time", { class: `due${overdue ? " overdue" : ""}${due === day ? " today" : ""}`, "data-testid": "due", datetime: due, title: fullDateText(due) },
        dueText(due, day, !task.completed)));
    }
    // Medium is the default: only a priority that stands out is named (for screen readers; the ring shows it).
    if (task.priority === Priority.HIGH || task.priority === Priority.LOW) {
      parts.push(h("span", { class: "priority" }, `${priorityNames[task.priority]} priority`));
    }
    for (const tag of task.tags) {
      parts.push(h("button", { type: "button", class: "tag", title: `Show tasks tagged ${tag}`, onclick: () => actions.filterByTag(tag) }, `#${tag}`));
    }
    // Rebuilt only when it changed, so a focused tag keeps focus through other changes.
    const key = JSON.stringify([due, overdue, day, task.completed, task.priority, task.tags]);
    if (key !== metaKey) {
      metaKey = key;
      meta.replaceChildren(...parts);
    }
    meta.hidden = parts.length === 0;
  }

  update(initial, initial.completed, today);
  return {
    element,
    update,
    showEditor(form) {
      editor = form;
      view.replaceWith(form);
      element.classList.add("editing");
    },
    closeEditor() {
      editor?.replaceWith(view);
      editor = undefined;
      element.classList.remove("editing");
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
  };
}
