// Short news at the foot of the screen ("“Buy milk” completed", "You are
// offline"), with an action such as Undo. The region is the task screen's
// status region too: it stays in the page and only its content changes, so
// screen readers read out each piece of news, and nothing else is announced
// (the list itself is not a live region).
import { h } from "../dom";

export interface ToastAction {
  label: string;
  run(): void;
}

export interface ToastOptions {
  action?: ToastAction;
  /** The toast went without its action being taken: timed out, dismissed, or replaced by another. */
  onGone?(): void;
}

export interface Toaster {
  element: HTMLElement;
  /** Shows `message` (replacing the one on show) for a few seconds, longer while hovered or focused. */
  show(message: string, options?: ToastOptions): void;
  /** Runs the action of the toast on show, if it has one (Ctrl+Z, or `z`, reach Undo from anywhere). */
  act(): boolean;
  dismiss(): void;
  stop(): void;
}

const SHOWN_MS = 6_000;

/** `restoreFocus` gets focus when the toast that had it goes away. */
export function toaster(restoreFocus: () => void): Toaster {
  const element = h("div", { class: "toasts", role: "status", "data-testid": "status" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: { toast: HTMLElement; action?: ToastAction; onGone?: () => void } | undefined;

  /** Takes the toast away; `acted` when its action is what took it. */
  function dismiss(acted = false): void {
    clearTimeout(timer);
    const gone = current;
    current = undefined;
    if (!gone) return;
    const { toast } = gone;
    if (!acted) gone.onGone?.();
    // Focus in the toast (on Undo) goes somewhere useful rather than to the page.
    const hadFocus = toast.contains(document.activeElement);
    toast.remove();
    if (hadFocus) restoreFocus();
  }

  function later(): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (current && !current.toast.matches(":hover, :focus-within")) dismiss();
      else later();
    }, SHOWN_MS);
  }

  return {
    element,
    show(message, { action, onGone } = {}) {
      dismiss();
      const button = action && h("button", { type: "button", class: "link", "data-testid": "toast-action", onclick: () => {
        dismiss(true);
        action.run();
      } }, action.label);
      const toast = h("div", { class: "toast", "data-testid": "toast" },
        h("span", {}, message),
        button,
        h("button", { type: "button", class: "close", "aria-label": "Dismiss", "data-testid": "toast-dismiss", onclick: () => dismiss() }, "×"));
      current = { toast, action, onGone };
      element.append(toast);
      later();
    },
    act() {
      const action = current?.action;
      if (!action) return false;
      dismiss(true);
      action.run();
      return true;
    },
    dismiss: () => dismiss(),
    stop() {
      // What waits on the toast (a delete) goes ahead.
      dismiss();
    },
  };
}
