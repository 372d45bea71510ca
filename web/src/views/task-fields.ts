// How a task's priority, tags and due date look in form controls and rows,
// shared by the add form, the editor, the filters and the list.
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { h } from "../dom";
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

/** A date input's day, due at its last second in the user's time zone. */
export function dueFromInput(value: string): Timestamp | undefined {
  return value ? timestampFromMs(new Date(`${value}T23:59:59`).getTime()) : undefined;
}

export function dueToInput(task: Task): string {
  if (!task.dueTime) return "";
  const date = new Date(Number(task.dueTime.seconds) * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function tagsFromInput(value: string): string[] {
  return value.split(",").map((tag) => tag.trim()).filter(Boolean);
}
