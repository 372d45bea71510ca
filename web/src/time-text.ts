// Times as people read them on the account page: "just now", "5 minutes
// ago" for the last day, then the date and time in the reader's locale.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function timeText(time: Timestamp | undefined, now = Date.now(), locale?: string): string {
  if (!time) return "at an unknown time";
  const date = timestampDate(time);
  const ago = now - date.getTime();
  // A clock a little ahead of ours still reads as now, not "in 3 seconds".
  if (ago < MINUTE) return "just now";
  if (ago < DAY) {
    const relative = new Intl.RelativeTimeFormat(locale, { numeric: "always" });
    return ago < HOUR ? relative.format(-Math.floor(ago / MINUTE), "minute") : relative.format(-Math.floor(ago / HOUR), "hour");
  }
  return dateTimeText(time, locale);
}

/** The full local date and time, for a `title` or a `<time>` that must be exact. */
export function dateTimeText(time: Timestamp, locale?: string): string {
  return timestampDate(time).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}
