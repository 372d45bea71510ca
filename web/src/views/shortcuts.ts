// Keyboard shortcuts on the task screen, and the sheet `?` opens to list
// them. Keys typed into a field are the field's, except Escape, which the
// forms handle themselves.
import { h } from "../dom";

export interface ShortcutHandlers {
  add(): void;
  search(): void;
  /** Moves focus to the next (1) or previous (-1) task. */
  move(step: 1 | -1): void;
  toggle(): void;
  edit(): void;
  remove(): void;
  undo(): boolean;
  view(index: number): void;
}

const KEYS: readonly (readonly [keys: string[], what: string])[] = [
  [["n"], "Add a task"],
  [["/"], "Search"],
  [["j", "↓"], "Next task"],
  [["k", "↑"], "Previous task"],
  [["x", "Space"], "Complete or reopen the task"],
  [["e", "Enter"], "Edit the task"],
  [["Delete", "#"], "Delete the task"],
  [["z", "Ctrl Z"], "Undo"],
  [["1", "2", "3", "4"], "All, Today, Upcoming, Done"],
  [["Esc"], "Close the editor or this sheet"],
  [["?"], "Show these shortcuts"],
];

export interface Shortcuts {
  /** The sheet (a dialog) and the button that opens it, for the page. */
  elements: HTMLElement[];
  stop(): void;
}

function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) && !(target instanceof HTMLInputElement && target.type === "checkbox");
}

export function shortcuts(handlers: ShortcutHandlers): Shortcuts {
  const close = h("button", { type: "button", class: "secondary", "data-testid": "close-shortcuts" }, "Close");
  const sheet = h("dialog", { class: "dialog shortcuts", "aria-labelledby": "shortcuts-heading", "data-testid": "shortcuts" },
    h("h2", { id: "shortcuts-heading" }, "Keyboard shortcuts"),
    h("dl", {}, ...KEYS.flatMap(([keys, what]) => [
      h("dt", {}, ...keys.flatMap((key, index) => [index > 0 ? " " : null, h("kbd", {}, key)])),
      h("dd", {}, what),
    ])),
    h("div", { class: "actions" }, close));
  close.addEventListener("click", () => sheet.close());
  const open = h("button", { type: "button", class: "link", "data-testid": "open-shortcuts", onclick: () => sheet.showModal() }, "Keyboard shortcuts (?)");

  function onKey(event: KeyboardEvent): void {
    if (event.defaultPrevented || sheet.open) return;
    const target = event.target;
    const onCheckbox = target instanceof HTMLInputElement && target.type === "checkbox";
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !typing(target)) {
      if (handlers.undo()) event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) return;
    const inRow = target instanceof HTMLElement && target.closest("[data-testid=task]") !== null;
    const act = (run: () => void) => {
      event.preventDefault();
      run();
    };
    switch (event.key) {
      case "?":
        return act(() => sheet.showModal());
      case "n":
      case "q":
        return act(handlers.add);
      case "/":
        return act(handlers.search);
      case "j":
        return act(() => handlers.move(1));
      case "k":
        return act(() => handlers.move(-1));
      case "ArrowDown":
        if (inRow) act(() => handlers.move(1));
        return;
      case "ArrowUp":
        if (inRow) act(() => handlers.move(-1));
        return;
      case "x":
        return act(handlers.toggle);
      case "e":
        return act(handlers.edit);
      case "Enter":
        // Enter on a button is the button's; on the checkbox it edits.
        if (onCheckbox && inRow) act(handlers.edit);
        return;
      case "Delete":
      case "#":
        return act(handlers.remove);
      case "Backspace":
        if (inRow) act(handlers.remove);
        return;
      case "z":
        if (handlers.undo()) event.preventDefault();
        return;
      case "1":
      case "2":
      case "3":
      case "4":
        return act(() => handlers.view(Number(event.key) - 1));
    }
  }

  document.addEventListener("keydown", onKey);
  return {
    elements: [open, sheet],
    stop: () => document.removeEventListener("keydown", onKey),
  };
}
