// The task list as the screen shows it: pages merged, live events applied
// where they belong under the current filter and order, no task twice.
import { Priority, type Task, TaskEvent_Kind } from "./gen/todo/task/v1/task_pb";

export type State = "all" | "open" | "done";

export interface Filter {
  state: State;
  query: string;
  tag: string;
  priority: Priority;
  /** An order_by value, e.g. "create_time desc". */
  order: string;
}

export const defaultFilter: Filter = { state: "all", query: "", tag: "", priority: Priority.UNSPECIFIED, order: "create_time desc" };

/** Whether `task` belongs in a list with `filter`, as the server would decide. */
export function matches(task: Task, filter: Filter): boolean {
  if (filter.state === "open" && task.completed) return false;
  if (filter.state === "done" && !task.completed) return false;
  if (filter.priority !== Priority.UNSPECIFIED && task.priority !== filter.priority) return false;
  if (filter.tag && !task.tags.includes(filter.tag.trim())) return false;
  const query = filter.query.trim().toLowerCase();
  if (query && !`${task.title}\n${task.description}`.toLowerCase().includes(query)) return false;
  return true;
}

function micros(time: { seconds: bigint; nanos: number } | undefined, missing: bigint): bigint {
  return time ? time.seconds * 1_000_000n + BigInt(Math.floor(time.nanos / 1000)) : missing;
}

const NO_DUE = 9_223_372_036_854_775_807n;

function key(task: Task, field: string): bigint | string {
  switch (field) {
    case "update_time":
      return micros(task.updateTime, 0n);
    case "due_time":
      return micros(task.dueTime, NO_DUE);
    case "priority":
      return BigInt(task.priority);
    case "title":
      return task.title;
    default:
      return micros(task.createTime, 0n);
  }
}

/** Compares two tasks in the server's order: the sort key, then the id. */
export function compare(a: Task, b: Task, order: string): number {
  const [field = "create_time", direction = "asc"] = order.trim().split(/\s+/);
  const ka = key(a, field);
  const kb = key(b, field);
  let result = ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  if (direction === "desc") result = -result;
  return result;
}

/** Appends a page, dropping tasks already shown (a live event may have added them). */
export function mergePage(shown: readonly Task[], page: readonly Task[]): Task[] {
  const ids = new Set(shown.map((task) => task.id));
  return [...shown, ...page.filter((task) => !ids.has(task.id))];
}

/** Applies a live change: removes the task, then puts its new version where it sorts, if it still matches. */
export function applyEvent(shown: readonly Task[], kind: TaskEvent_Kind, task: Task, filter: Filter): Task[] {
  const rest = shown.filter((existing) => existing.id !== task.id);
  if (kind === TaskEvent_Kind.DELETED || !matches(task, filter)) return rest;
  const index = rest.findIndex((existing) => compare(task, existing, filter.order) < 0);
  if (index === -1) return [...rest, task];
  return [...rest.slice(0, index), task, ...rest.slice(index)];
}

/** Whether a due time has passed for a task that is still open. */
export function isOverdue(task: Task, nowMs: number): boolean {
  if (!task.dueTime || task.completed) return false;
  return Number(task.dueTime.seconds) * 1000 < nowMs;
}
