// The bar above the list: the four views (All, Today, Upcoming, Done) as
// links, a search box (which takes `#tags` too), and a Filters button that
// opens a tag, a priority and an order. What narrows the list shows as chips
// with ×, and every change goes into the URL, so reload and Back keep it.
import { h } from "../dom";
import { Priority } from "../gen/todo/task/v1/task_pb";
import { defaultView, isFiltered, type PriorityName, SORTS, type TaskView, VIEWS, viewHash } from "../task-view";
import { priorityNames } from "./task-fields";

export interface FilterBar {
  element: HTMLElement;
  /** Shows `view` in the controls (after a change here, a link or Back). */
  show(view: TaskView): void;
  focusSearch(): void;
}

/** `push` for a change worth a Back step (a view, a tag); typing in the search box replaces. */
export type ViewChange = (view: TaskView, push: boolean) => void;

const SEARCH_DEBOUNCE_MS = 250;

const PRIORITY_LABELS: readonly (readonly [PriorityName, string])[] = [
  ["", "Any"], ["high", priorityNames[Priority.HIGH]], ["medium", priorityNames[Priority.MEDIUM]], ["low", priorityNames[Priority.LOW]],
];

export function filterBar(change: ViewChange): FilterBar {
  let current: TaskView = defaultView;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const tabs = VIEWS.map(([view, label]) => h("a", { class: "tab", "data-testid": `filter-${view}`, "data-view": view, href: "#/" }, label));
  const search: HTMLInputElement = h("input", {
    id: "search", type: "search", placeholder: "Search, or #tag", "data-testid": "search", autocomplete: "off",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => change({ ...current, query: search.value }, false), SEARCH_DEBOUNCE_MS);
    },
  });
  const tag: HTMLInputElement = h("input", {
    id: "tag-filter", placeholder: "any tag", "data-testid": "tag-filter", autocomplete: "off",
    onchange: () => change({ ...current, tag: tag.value.trim().replace(/^#/, "") }, true),
  });
  const priority: HTMLSelectElement = h("select", {
    id: "priority-filter", "data-testid": "priority-filter",
    onchange: () => change({ ...current, priority: priority.value as PriorityName }, true),
  }, ...PRIORITY_LABELS.map(([value, label]) => h("option", { value }, label)));
  const sort: HTMLSelectElement = h("select", {
    id: "sort", "data-testid": "sort",
    onchange: () => change({ ...current, sort: sort.value as TaskView["sort"] }, true),
  }, ...SORTS.map(([value, label]) => h("option", { value }, label)));
  const sortField = h("div", { class: "field" }, h("label", { for: "sort" }, "Sort"), sort);
  const panel = h("div", { class: "filter-panel", id: "filter-panel", hidden: true },
    h("div", { class: "field" }, h("label", { for: "tag-filter" }, "Tag"), tag),
    h("div", { class: "field" }, h("label", { for: "priority-filter" }, "Priority"), priority),
    sortField);
  const toggle: HTMLButtonElement = h("button", {
    type: "button", class: "quiet filters-toggle", "aria-expanded": "false", "aria-controls": panel.id, "data-testid": "filters-toggle",
    onclick: () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    },
  }, "Filters");
  const chips = h("div", { class: "chips", "aria-label": "Active filters", role: "group", hidden: true });
  const element = h("div", { class: "toolbar" },
    h("nav", { class: "tabs", "aria-label": "Views" }, ...tabs),
    h("div", { class: "search-row", role: "search" },
      h("label", { for: "search", class: "visually-hidden" }, "Search"), search, toggle),
    panel,
    chips);

  function chip(label: string, testId: string, without: Partial<TaskView>): HTMLButtonElement {
    return h("button", { type: "button", class: "chip removable", "data-testid": testId, "aria-label": `Remove filter: ${label}`, onclick: () => change({ ...current, ...without }, true) },
      label, h("span", { "aria-hidden": "true" }, " ×"));
  }

  return {
    element,
    show(view) {
      current = view;
      for (const tab of tabs) {
        const name = tab.dataset.view as TaskView["view"];
        tab.href = viewHash({ ...view, view: name });
        if (name === view.view) tab.setAttribute("aria-current", "page");
        else tab.removeAttribute("aria-current");
      }
      if (document.activeElement !== search && search.value !== view.query) search.value = view.query;
      tag.value = view.tag;
      priority.value = view.priority;
      sort.value = view.sort;
      // Today and Upcoming go by due day.
      sortField.hidden = view.view === "today" || view.view === "upcoming";
      const active = [
        view.query.trim() ? chip(`“${view.query.trim()}”`, "chip-query", { query: "" }) : null,
        view.tag ? chip(`#${view.tag}`, "chip-tag", { tag: "" }) : null,
        view.priority ? chip(`${PRIORITY_LABELS.find(([value]) => value === view.priority)?.[1]} priority`, "chip-priority", { priority: "" }) : null,
      ].filter((item): item is HTMLButtonElement => item !== null);
      if (active.length > 1) {
        active.push(h("button", { type: "button", class: "link", "data-testid": "clear-filters", onclick: () => change({ ...view, query: "", tag: "", priority: "" }, true) }, "Clear all"));
      }
      chips.replaceChildren(...active);
      chips.hidden = !isFiltered(view);
      toggle.classList.toggle("active", Boolean(view.tag || view.priority || view.sort !== "newest"));
    },
    focusSearch() {
      search.focus();
      search.select();
    },
  };
}
