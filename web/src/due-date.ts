// Due dates are calendar days, the same day wherever the task is read. The
// contract carries a Timestamp, so a day travels as its last second in UTC
// (2026-12-25 is 2026-12-25T23:59:59Z): every reader gets the day back
// whatever its time zone, and the server's due_time order is the order of
// the days. A due time written some other way (by grpcurl, or by this app
// before it kept days) is read as the day it falls on where it is read.
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Task } from "./gen/todo/task/v1/task_pb";

/** A calendar day as `YYYY-MM-DD`, which sorts as the days do. */
export type Day = string;

const DAY_SECONDS = 86_400;

/** The timestamp that stands for `day`: its last second in UTC. */
export function dayTimestamp(day: Day): Timestamp {
  return timestampFromMs(Date.parse(`${day}T23:59:59Z`));
}

/** The day a task is due, if it has a due time. */
export function dueDay(task: Pick<Task, "dueTime">): Day | undefined {
  if (!task.dueTime) return undefined;
  const seconds = Number(task.dueTime.seconds);
  const date = new Date(seconds * 1000);
  if (((seconds % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS === DAY_SECONDS - 1) return date.toISOString().slice(0, 10);
  return localDay(date);
}

/** The day `date` falls on in this browser's time zone. */
export function localDay(date: Date = new Date()): Day {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The day `days` after `day` (or before, when negative). */
export function addDays(day: Day, days: number): Day {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: Day, to: Day): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / (DAY_SECONDS * 1000));
}

/** Whether a task still open was due before `today`. */
export function isOverdue(task: Pick<Task, "dueTime" | "completed">, today: Day): boolean {
  const day = dueDay(task);
  return day !== undefined && !task.completed && day < today;
}

/**
 * A due day as people read it, in their locale: "Today", "Tomorrow", a
 * weekday within the week ahead, then "Mon 1 Dec" (with the year when it is
 * not this one); an open task past its day reads "Yesterday", "3 days late"
 * or, after a month, "Late since Fri, 31 Jan 2020".
 */
export function dueText(day: Day, today: Day, open: boolean, locale?: string): string {
  const days = daysBetween(today, day);
  const date = new Date(`${day}T00:00:00Z`);
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  if (days === 0 || days === 1 || days === -1) return capitalize(relative.format(days, "day"));
  if (days > 1 && days < 7) return date.toLocaleDateString(locale, { weekday: "long", timeZone: "UTC" });
  const sameYear = day.slice(0, 4) === today.slice(0, 4);
  const text = date.toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short", year: sameYear ? undefined : "numeric", timeZone: "UTC" });
  if (days < 0 && open) return days >= -30 ? `${-days} days late` : `Late since ${text}`;
  return text;
}

/** The full date, for a tooltip. */
export function fullDateText(day: Day, locale?: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(locale, { dateStyle: "full", timeZone: "UTC" });
}

function capitalize(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}
