// The calm "reconnecting" banner the task screen shows while the backend is unreachable.
import { h } from "../dom";

export interface ConnectionBanner {
  element: HTMLDivElement;
  show(offline: boolean): void;
}

export function connectionBanner(): ConnectionBanner {
  const element = h("div", { class: "banner", "data-testid": "banner", role: "status", hidden: true });
  return {
    element,
    show(offline) {
      element.hidden = !offline;
      element.textContent = offline ? "Reconnecting… your changes will show up again when the connection is back." : "";
    },
  };
}
