// What happened to the account, newest first and a page at a time: each
// event in words, when, from which address and with what device. Failed
// sign-ins and reused tokens stand out: they may be someone else.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Api } from "../api";
import { deviceName } from "../devices";
import { h } from "../dom";
import { describe } from "../errors";
import { type SecurityEvent, SecurityEvent_Kind } from "../gen/todo/auth/v1/auth_pb";
import { eventLabel, needsAttention } from "../security-events";
import { dateTimeText, timeText } from "../time-text";
import { whileBusy } from "./form";

const PAGE_SIZE = 10;

export interface ActivitySection {
  element: HTMLElement;
  /** Loads the newest page again. */
  reload(): Promise<void>;
}

export function securityActivity({ auth }: { auth: Pick<Api["auth"], "listSecurityEvents"> }): ActivitySection {
  const heading = h("h2", { id: "activity-heading" }, "Security activity");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "events-error" });
  const list = h("ol", { class: "rows", "data-testid": "events", "aria-busy": "true" }, h("li", { class: "muted" }, "Loading…"));
  const more = h("button", { type: "button", class: "secondary", "data-testid": "more-events", hidden: true }, "Show older activity");
  const element = h("section", { class: "card section", "aria-labelledby": heading.id },
    heading,
    h("p", { class: "muted" }, "Sign-ins and changes to your account, newest first. If you see something you do not recognise, change your password."),
    error, list, more);
  let nextPageToken = "";
  /** Bumped by each reload, so an older page arriving late is dropped. */
  let generation = 0;

  async function load(fresh: boolean): Promise<HTMLLIElement[]> {
    const mine = fresh ? ++generation : generation;
    list.setAttribute("aria-busy", "true");
    try {
      const page = await auth.listSecurityEvents({ pageSize: PAGE_SIZE, pageToken: fresh ? "" : nextPageToken });
      if (mine !== generation) return [];
      error.textContent = "";
      nextPageToken = page.nextPageToken;
      more.hidden = !nextPageToken;
      const rows = page.events.map(row);
      if (fresh) list.replaceChildren(...(rows.length > 0 ? rows : [h("li", { class: "muted" }, "Nothing yet.")]));
      else list.append(...rows);
      return rows;
    } catch (failure) {
      error.textContent = describe(failure, "account").message;
      return [];
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  more.addEventListener("click", () => void whileBusy(more, async () => {
    const added = await load(false);
    // Keyboard users carry on from the first older event, not from the top.
    added[0]?.focus();
    if (!added[0] && more.hidden) heading.focus();
  }));

  return { element, reload: async () => void (await load(true)) };
}

function row(event: SecurityEvent): HTMLLIElement {
  const time = event.createTime;
  const details = [event.clientAddress, event.userAgent ? deviceName(event.userAgent) : ""].filter(Boolean);
  return h("li", { class: `row event${needsAttention(event.kind) ? " attention" : ""}`, tabindex: "-1", "data-testid": "event", "data-kind": SecurityEvent_Kind[event.kind] ?? "UNKNOWN" },
    h("div", { class: "body" },
      h("p", { class: "name" }, eventLabel(event.kind)),
      h("p", { class: "muted" },
        time ? h("time", { datetime: timestampDate(time).toISOString(), title: dateTimeText(time) }, capitalized(timeText(time))) : "At an unknown time",
        ...details.map((detail) => ` · ${detail}`)),
      event.userAgent ? h("p", { class: "muted small agent", title: event.userAgent }, event.userAgent) : null));
}

/** "just now" reads mid-sentence elsewhere; here it starts the line. */
function capitalized(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}
