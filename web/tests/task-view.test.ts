// What each view asks the server for, and what the list keeps itself (the days).
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { dayTimestamp } from "../src/due-date";
import { Priority, TaskSchema } from "../src/gen/todo/task/v1/task_pb";
import { matches } from "../src/task-list";
import { defaultView, listFilters, searchTerms } from "../src/task-view";

const TODAY = "2026-12-02";
const due = (day?: string) => create(TaskSchema, { id: day ?? "none", title: "t", dueTime: day ? dayTimestamp(day) : undefined });

describe("views", () => {
  it("splits the search box into #tags and text", () => {
    expect(searchTerms("  milk #home  oat #")).toEqual({ text: "milk oat", tags: ["home"] });
  });

  it("shows open tasks in All, with the completed ones apart, under the same filters", () => {
    const { main, completed } = listFilters({ ...defaultView, query: "milk #home", tag: "errands", priority: "high" }, TODAY);
    expect(main).toEqual({ state: "open", query: "milk", tags: ["home", "errands"], priority: Priority.HIGH, order: "create_time desc" });
    expect(completed).toMatchObject({ state: "done", query: "milk", tags: ["home", "errands"], order: "update_time desc" });
  });

  it("keeps Today to what is due by today (late included) and Upcoming to what comes after", () => {
    const today = listFilters({ ...defaultView, view: "today" }, TODAY).main;
    const upcoming = listFilters({ ...defaultView, view: "upcoming" }, TODAY).main;
    expect(today.order).toBe("due_time asc");
    expect(["2026-11-30", "2026-12-02", "2026-12-03", undefined].map((day) => matches(due(day), today))).toEqual([true, true, false, false]);
    expect(["2026-11-30", "2026-12-02", "2026-12-03", undefined].map((day) => matches(due(day), upcoming))).toEqual([false, false, true, false]);
  });
});
