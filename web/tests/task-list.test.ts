// The list as the screen keeps it: pages merged and live changes placed.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Priority, type Task, TaskEvent_Kind, TaskSchema } from "../src/gen/todo/task/v1/task_pb";
import { applyEvent, defaultFilter, matches, mergePage } from "../src/task-list";

const at = (seconds: number) => create(TimestampSchema, { seconds: BigInt(seconds) });
const task = (id: string, created: number, fields: MessageInitShape<typeof TaskSchema> = {}): Task =>
  create(TaskSchema, { id, title: `task ${id}`, createTime: at(created), updateTime: at(created), priority: Priority.MEDIUM, ...fields });

describe("task list", () => {
  it("merges pages without showing a task twice", () => {
    const merged = mergePage([task("a", 3), task("b", 2)], [task("b", 2), task("c", 1)]);
    expect(merged.map((t) => t.id)).toEqual(["a", "b", "c"]);
  });

  it("puts a created task where it sorts (newest first by default)", () => {
    const shown = [task("b", 20), task("a", 10)];
    expect(applyEvent(shown, TaskEvent_Kind.CREATED, task("c", 30), defaultFilter).map((t) => t.id)).toEqual(["c", "b", "a"]);
    const byTitle = { ...defaultFilter, order: "title asc" };
    const sorted = [task("a", 1, { title: "apple" }), task("c", 1, { title: "cherry" })];
    expect(applyEvent(sorted, TaskEvent_Kind.CREATED, task("b", 1, { title: "banana" }), byTitle).map((t) => t.title)).toEqual(["apple", "banana", "cherry"]);
  });

  it("replaces an updated task and drops it when it no longer matches the filter", () => {
    const shown = [task("a", 2), task("b", 1)];
    const renamed = applyEvent(shown, TaskEvent_Kind.UPDATED, task("b", 1, { title: "renamed" }), defaultFilter);
    expect(renamed.map((t) => t.title)).toEqual(["task a", "renamed"]);
    const open = { ...defaultFilter, state: "open" as const };
    expect(applyEvent(shown, TaskEvent_Kind.UPDATED, task("a", 2, { completed: true }), open).map((t) => t.id)).toEqual(["b"]);
  });

  it("removes a deleted task", () => {
    expect(applyEvent([task("a", 2), task("b", 1)], TaskEvent_Kind.DELETED, task("a", 0), defaultFilter).map((t) => t.id)).toEqual(["b"]);
  });

  it("matches filters like the server: state, tag, priority, case-insensitive query", () => {
    const milk = task("m", 1, { title: "Buy MILK", tags: ["home"], priority: Priority.HIGH });
    expect(matches(milk, { ...defaultFilter, query: "milk" })).toBe(true);
    expect(matches(milk, { ...defaultFilter, tags: ["work"] })).toBe(false);
    expect(matches(milk, { ...defaultFilter, priority: Priority.LOW })).toBe(false);
    expect(matches(milk, { ...defaultFilter, state: "done" })).toBe(false);
  });
});
