// The task list as the screen shows it: pages merged, live events applied
// where they belong under the current filter and order, no task twice.
import { type Day, dueDay } from "./due-date";
import { Priority, type Task, TaskEvent_Kind } from "./gen/todo/task/v1/task_pb";

export type State = "all" | "open" | "done";

export interface Filter {
  state: State;
  query: string;
  /** Tags a task must all carry. */
  tags: readonly string[];
  priority: Priority;
  /** An order_by value, e.g. "create_time desc". */
  order: string;
  /**
   * Only tasks due on or before this day (Today), or after it (Upcoming).
   * The server has no such filter: the list asks for due_time order and
   * keeps these itself.
   */
  dueBy?: Day;
  dueAfter?: Day;
}

export const defaultFilter: Filter = { state: "all", query: "", tags: [], priority: Priority.UNSPECIFIED, order: "create_time desc" };

/** Whether `task` belongs in a list with `filter`, as the server would decide. */
export function matches(task: Task, filter: Filter): boolean {
  if (filter.state === "open" && task.completed) return false;
  if (filter.state === "done" && !task.completed) return false;
  if (filter.priority !== Priority.UNSPECIFIED && task.priority !== filter.priority) return false;
  if (!filter.tags.every((tag) => task.tags.includes(tag.trim()))) return false;
  // The server matches a LIKE pattern with its wildcards escaped: a plain substring.
  const query = filter.query.trim().toLowerCase();
  if (query && !`${task.title}\n${task.description}\n${task.tags.join(" ")}`.toLowerCase().includes(query)) return false;
  return withinDays(task, filter);
}

/** Whether `task` is due within the filter's days, when it names any (the part of `matches` the server does not do). */
export function withinDays(task: Task, filter: Pick<Filter, "dueBy" | "dueAfter">): boolean {
  if (!filter.dueBy && !filter.dueAfter) return true;
  const day = dueDay(task);
  if (!day) return false;
  return (!filter.dueBy || day <= filter.dueBy) && (!filter.dueAfter || day > filter.dueAfter);
}

const SORT_FIELDS = ["create_time", "update_time", "due_time", "priority", "title"] as const;

type SortField = (typeof SORT_FIELDS)[number];

/** Reads order_by as the server does: "" is create_time desc; a field alone is ascending. */
function parseOrder(order: string): { field: SortField; descending: boolean } {
  const [field, direction = "asc"] = order.trim().split(/\s+/).filter(Boolean);
  if (field === undefined) return { field: "create_time", descending: true };
  return { field: SORT_FIELDS.find((known) => known === field) ?? "create_time", descending: direction.toLowerCase() === "desc" };
}

function micros(time: { seconds: bigint; nanos: number } | undefined, missing: bigint): bigint {
  return time ? time.seconds * 1_000_000n + BigInt(Math.floor(time.nanos / 1000)) : missing;
}

/** The server's stand-in for "no due date": the largest BIGINT, so such tasks sort last ascending. */
const NO_DUE = 9_223_372_036_854_775_807n;

function key(task: Task, field: SortField): bigint | string {
  switch (field) {
    case "create_time":
      return micros(task.createTime, 0n);
    case "update_time":
      return micros(task.updateTime, 0n);
    case "due_time":
      return micros(task.dueTime, NO_DUE);
    case "priority":
      return BigInt(task.priority);
    case "title":
      return task.title;
  }
}

/**
 * Compares strings by code point, which is the servers' order (UTF-8 bytes).
 * UTF-16 code units agree except that the surrogates of characters above
 * U+FFFF must sort after U+E000–U+FFFF, so those two ranges swap places.
 */
function compareText(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function compareKeys(a: bigint | string, b: bigint | string): number {
  if (typeof a === "string" && typeof b === "string") return compareText(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two tasks in the server's order: the sort key, then the id, both in the order's direction. */
export function compare(a: Task, b: Task, order: string): number {
  const { field, descending } = parseOrder(order);
  const result = compareKeys(key(a, field), key(b, field)) || compareText(a.id, b.id);
  return descending ? -result : result;
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
