// The one-line quick add: "Call mum tomorrow #family !high" is a task titled
// "Call mum", due tomorrow, tagged family, of high priority. Tags (#word) and
// priorities (!high, !medium, !low, or !h/!m/!l) may stand anywhere; a due
// day only at the end ("today", "tomorrow", "fri", "next week", "in 3 days",
// "25 dec", "2026-12-25"), so a title that merely mentions a day keeps it
// unless it ends with it. What was understood is shown before it is added.
import { addDays, type Day } from "./due-date";
import { Priority } from "./gen/todo/task/v1/task_pb";

export interface QuickAdd {
  title: string;
  tags: string[];
  priority?: Priority;
  due?: Day;
}

const PRIORITIES: Readonly<Record<string, Priority>> = {
  high: Priority.HIGH, h: Priority.HIGH,
  medium: Priority.MEDIUM, med: Priority.MEDIUM, m: Priority.MEDIUM,
  low: Priority.LOW, l: Priority.LOW,
};

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

/** A tag as the server keeps it: up to 32 characters, no spaces. */
const TAG = /^#([^\s#!]{1,32})$/;

export function parseQuickAdd(text: string, today: Day): QuickAdd {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const tags: string[] = [];
  let priority: Priority | undefined;
  const rest: string[] = [];
  for (const word of words) {
    const tag = TAG.exec(word);
    const level = word.startsWith("!") ? PRIORITIES[word.slice(1).toLowerCase()] : undefined;
    if (tag) {
      if (!tags.includes(tag[1])) tags.push(tag[1]);
    } else if (level !== undefined) {
      priority = level;
    } else {
      rest.push(word);
    }
  }
  // The longest trailing phrase that reads as a day, leaving a title behind.
  for (const length of [3, 2, 1]) {
    if (rest.length <= length) continue;
    const due = parseDay(rest.slice(-length).join(" ").toLowerCase(), today);
    if (due) return { title: rest.slice(0, -length).join(" "), tags, priority, due };
  }
  return { title: rest.join(" "), tags, priority };
}

/** The day a phrase names, counted from `today`, if it names one. */
export function parseDay(phrase: string, today: Day): Day | undefined {
  if (/^(today|tod)$/.test(phrase)) return today;
  if (/^(tomorrow|tmr|tom)$/.test(phrase)) return addDays(today, 1);
  if (phrase === "next week") return addDays(today, 8 - isoWeekday(today));
  const within = /^in (\d{1,3}) (day|days|week|weeks)$/.exec(phrase);
  if (within) return addDays(today, Number(within[1]) * (within[2].startsWith("week") ? 7 : 1));
  const weekday = /^[a-z]{3,9}$/.test(phrase) ? WEEKDAYS.findIndex((name) => name.startsWith(phrase)) : -1;
  if (weekday !== -1) {
    // The next such day after today ("fri" on a Friday is a week away; today is "today").
    const ahead = (weekday - new Date(`${today}T00:00:00Z`).getUTCDay() + 7) % 7 || 7;
    return addDays(today, ahead);
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(phrase);
  if (iso) return validDay(Number(iso[1]), Number(iso[2]), Number(iso[3])) ? phrase : undefined;
  const numeric = /^(\d{1,2}) ([a-z]{3,9})$/.exec(phrase);
  const named = /^([a-z]{3,9}) (\d{1,2})$/.exec(phrase);
  const [dayText, monthText] = numeric ? [numeric[1], numeric[2]] : named ? [named[2], named[1]] : [];
  if (dayText && monthText) {
    // "25 dec": the next 25 December, this year's unless it has passed.
    const month = MONTHS.findIndex((name) => name.startsWith(monthText)) + 1;
    const day = Number(dayText);
    if (month === 0) return undefined;
    const on = (year: number) => (validDay(year, month, day) ? `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}` : undefined);
    const year = Number(today.slice(0, 4));
    const thisYear = on(year);
    return thisYear && thisYear >= today ? thisYear : on(year + 1) ?? on(year + 4);
  }
  return undefined;
}

/** Monday 1 … Sunday 7. */
function isoWeekday(day: Day): number {
  return new Date(`${day}T00:00:00Z`).getUTCDay() || 7;
}

function validDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
