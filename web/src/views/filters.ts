// The filter bar: search (debounced), open/done, a tag, a priority and the order.
import { h } from "../dom";
import { Priority } from "../gen/todo/task/v1/task_pb";
import { type Filter, type State } from "../task-list";
import { priorityFrom, priorityOptions } from "./task-fields";

export interface FilterBar {
  element: HTMLDivElement;
  /** Shows only tasks with `tag`, as if typed into the tag box. */
  filterByTag(tag: string): void;
}

const SEARCH_DEBOUNCE_MS = 250;

const ORDERS: readonly (readonly [order: string, label: string])[] = [
  ["create_time desc", "Newest"], ["create_time asc", "Oldest"], ["due_time asc", "Due soonest"], ["priority desc", "Priority"],
  ["title asc", "Title A–Z"], ["title desc", "Title Z–A"], ["update_time desc", "Recently changed"],
];

export function filterBar(onChange: (change: Partial<Filter>) => void): FilterBar {
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const search: HTMLInputElement = h("input", { id: "search", type: "search", placeholder: "Search", "data-testid": "search", oninput: () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => onChange({ query: search.value }), SEARCH_DEBOUNCE_MS);
  } });
  const tag: HTMLInputElement = h("input", { id: "tag-filter", placeholder: "any tag", "data-testid": "tag-filter", onchange: () => onChange({ tags: tagsOf(tag.value) }) });
  const states = (["all", "open", "done"] as const).map((state) => stateButton(state));
  const priority: HTMLSelectElement = h("select", { id: "priority-filter", "data-testid": "priority-filter", onchange: () => onChange({ priority: priorityFrom(priority) }) },
    ...priorityOptions(Priority.UNSPECIFIED, "Any"));
  const order: HTMLSelectElement = h("select", { id: "sort", "data-testid": "sort", onchange: () => onChange({ order: order.value }) },
    ...ORDERS.map(([value, label]) => h("option", { value }, label)));
  const element = h("div", { class: "filters", role: "search" },
    h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search),
    h("div", { class: "field" }, h("span", { class: "label" }, "Show"), h("div", { class: "segments", role: "group", "aria-label": "Show" }, ...states)),
    h("div", { class: "field" }, h("label", { for: "tag-filter" }, "Tag"), tag),
    h("div", { class: "field" }, h("label", { for: "priority-filter" }, "Priority"), priority),
    h("div", { class: "field" }, h("label", { for: "sort" }, "Sort"), order));

  function stateButton(state: State): HTMLButtonElement {
    const button: HTMLButtonElement = h("button", { type: "button", class: "segment", "data-testid": `filter-${state}`, "aria-pressed": String(state === "all"), onclick: () => {
      for (const other of states) other.setAttribute("aria-pressed", String(other === button));
      onChange({ state });
    } }, state[0].toUpperCase() + state.slice(1));
    return button;
  }

  return {
    element,
    filterByTag(value) {
      tag.value = value;
      onChange({ tags: tagsOf(value) });
    },
  };
}

/** The tag box holds one tag. */
function tagsOf(value: string): string[] {
  const tag = value.trim();
  return tag ? [tag] : [];
}
