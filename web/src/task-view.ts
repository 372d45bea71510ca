// What the task screen shows, as it is kept in the URL (`#/today?q=milk&tag=home`)
// so a reload, a bookmark and Back bring the same view back: one of four
// views, a search, a tag, a priority and an order.
import { type Day } from "./due-date";
import { Priority } from "./gen/todo/task/v1/task_pb";
import { type Filter } from "./task-list";

export type ViewName = "all" | "today" | "upcoming" | "done";

export const VIEWS: readonly (readonly [view: ViewName, label: string])[] = [
  ["all", "All"], ["today", "Today"], ["upcoming", "Upcoming"], ["done", "Done"],
];

export type PriorityName = "" | "high" | "medium" | "low";

export type SortName = "newest" | "oldest" | "due" | "priority" | "title" | "title-desc" | "changed";

export const SORTS: readonly (readonly [sort: SortName, label: string, orderBy: string])[] = [
  ["newest", "Newest", "create_time desc"], ["oldest", "Oldest", "create_time asc"], ["due", "Due soonest", "due_time asc"],
  ["priority", "Priority", "priority desc"], ["title", "Title A–Z", "title asc"], ["title-desc", "Title Z–A", "title desc"],
  ["changed", "Recently changed", "update_time desc"],
];

export interface TaskView {
  view: ViewName;
  /** The search box as typed: `#words` in it are tags, the rest the text searched for. */
  query: string;
  tag: string;
  priority: PriorityName;
  sort: SortName;
}

export const defaultView: TaskView = { view: "all", query: "", tag: "", priority: "", sort: "newest" };

const PRIORITY_VALUES: Readonly<Record<Exclude<PriorityName, "">, Priority>> = { high: Priority.HIGH, medium: Priority.MEDIUM, low: Priority.LOW };

/** The view named by a path (`/today`) and its query parameters. */
export function readView(path: string, params: ReadonlyMap<string, string>): TaskView | undefined {
  const view = path === "" ? "all" : VIEWS.find(([name]) => `/${name}` === path)?.[0];
  if (!view) return undefined;
  const priority = params.get("priority") ?? "";
  const sort = params.get("sort") ?? "";
  return {
    view,
    query: params.get("q") ?? "",
    tag: (params.get("tag") ?? "").replace(/^#/, "").trim(),
    priority: priority in PRIORITY_VALUES ? (priority as PriorityName) : "",
    sort: SORTS.some(([name]) => name === sort) ? (sort as SortName) : "newest",
  };
}

/** The hash for `view`; defaults are left out, so the plain list is `#/`. */
export function viewHash(view: TaskView): string {
  const params = [
    ["q", view.query], ["tag", view.tag], ["priority", view.priority], ["sort", view.sort === "newest" ? "" : view.sort],
  ].filter(([, value]) => value).map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  return `#/${view.view === "all" ? "" : view.view}${params.length ? `?${params.join("&")}` : ""}`;
}

/** Whether anything narrows the view beyond the view itself. */
export function isFiltered(view: TaskView): boolean {
  return Boolean(view.query.trim() || view.tag || view.priority);
}

/** The search box's `#tags` and its remaining text. */
export function searchTerms(query: string): { text: string; tags: string[] } {
  const words = query.trim().split(/\s+/).filter(Boolean);
  return {
    text: words.filter((word) => !word.startsWith("#")).join(" "),
    tags: words.filter((word) => word.length > 1 && word.startsWith("#")).map((word) => word.slice(1)),
  };
}

/**
 * The lists a view shows, as the list filters ask the server (and place
 * live changes): All is the open tasks with the completed ones apart; Today
 * is what is due by today, overdue first; Upcoming what is due after it.
 */
export function listFilters(view: TaskView, today: Day): { main: Filter; completed?: Filter } {
  const { text, tags } = searchTerms(view.query);
  const base = {
    query: text,
    tags: [...new Set([...tags, ...(view.tag ? [view.tag] : [])])],
    priority: view.priority ? PRIORITY_VALUES[view.priority] : Priority.UNSPECIFIED,
    order: SORTS.find(([name]) => name === view.sort)?.[2] ?? "create_time desc",
  };
  switch (view.view) {
    case "all":
      return { main: { ...base, state: "open" }, completed: { ...base, state: "done", order: "update_time desc" } };
    case "today":
      return { main: { ...base, state: "open", order: "due_time asc", dueBy: today } };
    case "upcoming":
      return { main: { ...base, state: "open", order: "due_time asc", dueAfter: today } };
    case "done":
      return { main: { ...base, state: "done", order: view.sort === "newest" ? "update_time desc" : base.order } };
  }
}
