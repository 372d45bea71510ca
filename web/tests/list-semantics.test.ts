// The server's filter and order, as the shared fixture pins them down, against
// the web app's copy that places live changes (matches, compare, applyEvent).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import fixture from "../../proto/fixtures/list-semantics.json";
import { Priority, PrioritySchema, type Task, TaskEvent_Kind, TaskSchema } from "../src/gen/todo/task/v1/task_pb";
import { applyEvent, compare, type Filter, matches } from "../src/task-list";

interface FixtureTask {
  key: string;
  title: string;
  description: string;
  completed: boolean;
  priority: string;
  tags: string[];
  dueTime?: string;
}

interface FixtureCase {
  order_by: string;
  filter: { query?: string; completed?: boolean; tags?: string[]; priority?: string };
  expected: string[];
}

interface ListSemantics {
  tasks: FixtureTask[];
  updates: string[];
  cases: FixtureCase[];
}

const semantics: ListSemantics = fixture;

function priority(name: string): Priority {
  const value = PrioritySchema.values.find((known) => known.name === name);
  if (!value) throw new Error(`the fixture names an unknown priority ${name}`);
  return value.number;
}

const START_MS = Date.UTC(2024, 0, 1);
const second = (n: number) => timestampFromMs(START_MS + n * 1000);

// Created one second apart in file order (ids ascending too); updated ones after all of them.
const tasks: Task[] = semantics.tasks.map((entry, index) => {
  const updated = semantics.updates.indexOf(entry.key);
  return create(TaskSchema, {
    id: `00000000-0000-7000-8000-${String(index + 1).padStart(12, "0")}`,
    title: entry.title,
    description: entry.description,
    completed: entry.completed,
    priority: priority(entry.priority),
    tags: entry.tags,
    dueTime: entry.dueTime === undefined ? undefined : timestampFromDate(new Date(entry.dueTime)),
    createTime: second(index),
    updateTime: second(updated === -1 ? index : semantics.tasks.length + updated),
  });
});
const keyOf = new Map(tasks.map((task, index) => [task.id, semantics.tasks[index].key]));
const keys = (list: readonly Task[]) => list.map((task) => keyOf.get(task.id));

function filterOf({ order_by, filter }: FixtureCase): Filter {
  return {
    state: filter.completed === undefined ? "all" : filter.completed ? "done" : "open",
    query: filter.query ?? "",
    tags: filter.tags ?? [],
    priority: filter.priority === undefined ? Priority.UNSPECIFIED : priority(filter.priority),
    order: order_by,
  };
}

/** The tasks in a fixed scrambled order, as live events might bring them. */
function scrambled(list: readonly Task[]): Task[] {
  return list.map((task, index) => ({ task, rank: (index * 7 + 3) % 13 })).sort((a, b) => a.rank - b.rank).map(({ task }) => task);
}

describe("list semantics shared with the server (proto/fixtures/list-semantics.json)", () => {
  it("covers every order both ways", () => {
    const orders = new Set(semantics.cases.map((entry) => entry.order_by));
    for (const field of ["create_time", "update_time", "due_time", "priority", "title"]) {
      expect(orders).toContain(`${field} asc`);
      expect(orders).toContain(`${field} desc`);
    }
  });

  it.each(semantics.cases.map((entry) => [`order_by ${JSON.stringify(entry.order_by)}, filter ${JSON.stringify(entry.filter)}`, entry] as const))(
    "%s",
    (_name, entry) => {
      const filter = filterOf(entry);
      const listed = tasks.filter((task) => matches(task, filter)).sort((a, b) => compare(a, b, filter.order));
      expect(keys(listed)).toEqual(entry.expected);
      // Live placement builds the same list, whatever order the changes arrive in.
      for (const arrival of [[...tasks].reverse(), scrambled(tasks)]) {
        const placed = arrival.reduce<Task[]>((shown, task) => applyEvent(shown, TaskEvent_Kind.CREATED, task, filter), []);
        expect(keys(placed)).toEqual(entry.expected);
      }
    },
  );
});
