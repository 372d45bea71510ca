// The quick add line: tags, priorities and a trailing due day read out of the text.
import { describe, expect, it } from "vitest";
import { dueText } from "../src/due-date";
import { Priority } from "../src/gen/todo/task/v1/task_pb";
import { parseDay, parseQuickAdd } from "../src/quick-add";

// A Wednesday.
const TODAY = "2026-12-02";

describe("quick add", () => {
  it("reads tags and a priority anywhere and a due day at the end", () => {
    expect(parseQuickAdd("Call mum #family !high tomorrow", TODAY)).toEqual({ title: "Call mum", tags: ["family"], priority: Priority.HIGH, due: "2026-12-03" });
    expect(parseQuickAdd("  #home Buy   milk !l ", TODAY)).toEqual({ title: "Buy milk", tags: ["home"], priority: Priority.LOW });
  });

  it("keeps a day that is not at the end, and a title that is only a day", () => {
    expect(parseQuickAdd("Plan friday party", TODAY)).toEqual({ title: "Plan friday party", tags: [] });
    expect(parseQuickAdd("Tomorrow", TODAY)).toEqual({ title: "Tomorrow", tags: [] });
    expect(parseQuickAdd("Email 100% done", TODAY).title).toBe("Email 100% done");
  });

  it("understands the usual ways of naming a day", () => {
    expect(parseDay("today", TODAY)).toBe(TODAY);
    expect(parseDay("fri", TODAY)).toBe("2026-12-04");
    expect(parseDay("wednesday", TODAY)).toBe("2026-12-09");
    expect(parseDay("next week", TODAY)).toBe("2026-12-07");
    expect(parseDay("in 3 days", TODAY)).toBe("2026-12-05");
    expect(parseDay("in 2 weeks", TODAY)).toBe("2026-12-16");
    expect(parseDay("25 dec", TODAY)).toBe("2026-12-25");
    expect(parseDay("jan 5", TODAY)).toBe("2027-01-05");
    expect(parseDay("1 dec", TODAY)).toBe("2027-12-01");
    expect(parseDay("2027-02-28", TODAY)).toBe("2027-02-28");
    expect(parseDay("2027-02-30", TODAY)).toBeUndefined();
    expect(parseDay("31 feb", TODAY)).toBeUndefined();
    expect(parseDay("party", TODAY)).toBeUndefined();
  });

  it("takes a trailing phrase of several words", () => {
    expect(parseQuickAdd("Dentist in 3 days", TODAY)).toEqual({ title: "Dentist", tags: [], due: "2026-12-05" });
    expect(parseQuickAdd("Rent 25 dec #home", TODAY)).toEqual({ title: "Rent", tags: ["home"], due: "2026-12-25" });
  });
});

describe("due days as people read them", () => {
  it("says today, tomorrow, a weekday, then a date, and how late an open task is", () => {
    expect(dueText(TODAY, TODAY, true, "en-GB")).toBe("Today");
    expect(dueText("2026-12-03", TODAY, true, "en-GB")).toBe("Tomorrow");
    expect(dueText("2026-12-01", TODAY, true, "en-GB")).toBe("Yesterday");
    expect(dueText("2026-11-29", TODAY, true, "en-GB")).toBe("3 days late");
    expect(dueText("2026-11-29", TODAY, false, "en-GB")).toBe("Sun 29 Nov");
    expect(dueText("2026-12-05", TODAY, true, "en-GB")).toBe("Saturday");
    expect(dueText("2026-12-25", TODAY, true, "en-GB")).toBe("Fri 25 Dec");
    expect(dueText("2027-01-05", TODAY, true, "en-GB")).toBe("Tue, 5 Jan 2027");
    expect(dueText("2020-01-31", TODAY, true, "en-GB")).toBe("Late since Fri, 31 Jan 2020");
  });
});
