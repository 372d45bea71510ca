// How a task's priority, tags and due date look in form controls and rows,
// shared by the add form, the editor, the filters and the list.
import { type Timestamp } from "@bufbuild/protobuf/wkt";
import { h } from "../dom";
import { dayTimestamp, dueDay } from "../due-date";
import { Priority, type Task } from "../gen/todo/task/v1/task_pb";

export const priorityNames: Readonly<Record<number, string>> = { [Priority.LOW]: "Low", [Priority.MEDIUM]: "Medium", [Priority.HIGH]: "High" };

/** The options of a priority select; `anyLabel` adds a first option for "no priority chosen". */
export function priorityOptions(selected: Priority, anyLabel?: string): HTMLOptionElement[] {
  const options = anyLabel ? [h("option", { value: String(Priority.UNSPECIFIED), selected: selected === Priority.UNSPECIFIED }, anyLabel)] : [];
  for (const priority of [Priority.LOW, Priority.MEDIUM, Priority.HIGH]) {
    options.push(h("option", { value: String(priority), selected: selected === priority }, priorityNames[priority]));
  }
  return options;
}

export function priorityFrom(select: HTMLSelectElement): Priority {
  const value = Number(select.value);
  return value === Priority.LOW || value === Priority.MEDIUM || value === Priority.HIGH ? value : Priority.UNSPECIFIED;
}

/** A date input's day as the contract carries it (see `due-date.ts`). */
export function dueFromInput(value: string): Timestamp | undefined {
  return value ? dayTimestamp(value) : undefined;
}

export function dueToInput(task: Task): string {
  return dueDay(task) ?? "";
}

export function tagsFromInput(value: string): string[] {
  return value.split(",").map((tag) => tag.trim()).filter(Boolean);
}
