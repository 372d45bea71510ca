// Due dates as calendar days: the same day in every time zone, in the server's order.
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { addDays, dayTimestamp, daysBetween, dueDay, isOverdue } from "../src/due-date";

const at = (iso: string) => create(TimestampSchema, { seconds: BigInt(Date.parse(iso) / 1000) });

describe("due dates", () => {
  it("travel as the day's last second in UTC and come back as the same day", () => {
    expect(new Date(Number(dayTimestamp("2026-12-25").seconds) * 1000).toISOString()).toBe("2026-12-25T23:59:59.000Z");
    expect(dueDay({ dueTime: dayTimestamp("2026-12-25") })).toBe("2026-12-25");
    expect(dueDay({ dueTime: dayTimestamp("1969-07-20") })).toBe("1969-07-20");
    expect(dueDay({ dueTime: undefined })).toBeUndefined();
  });

  it("sort by timestamp in the order of the days", () => {
    const days = ["2026-12-31", "2026-01-01", "2026-12-25"];
    const sorted = [...days].sort((a, b) => Number(dayTimestamp(a).seconds - dayTimestamp(b).seconds));
    expect(sorted).toEqual([...days].sort());
  });

  it("read any other due time as the day it falls on here", () => {
    const noon = at("2026-03-10T12:00:00Z");
    const local = new Date(Date.parse("2026-03-10T12:00:00Z"));
    expect(dueDay({ dueTime: noon })).toBe(`${local.getFullYear()}-${String(local.getMonth() + 1).padStart(2, "0")}-${String(local.getDate()).padStart(2, "0")}`);
  });

  it("count days across months and years", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
    expect(daysBetween("2026-12-25", "2027-01-01")).toBe(7);
    expect(daysBetween("2026-12-25", "2026-12-23")).toBe(-2);
  });

  it("call an open task overdue from the day after its due day", () => {
    const due = { dueTime: dayTimestamp("2026-12-25"), completed: false };
    expect(isOverdue(due, "2026-12-25")).toBe(false);
    expect(isOverdue(due, "2026-12-26")).toBe(true);
    expect(isOverdue({ ...due, completed: true }, "2026-12-26")).toBe(false);
    expect(isOverdue({ dueTime: undefined, completed: false }, "2026-12-26")).toBe(false);
  });
});
