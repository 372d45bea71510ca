// Labelled form controls with a slot under each for what the server says about
// it, and the one place a Problem is shown in a form: at the fields it names
// (marked invalid until the user edits them), or for the whole form when it
// names none this form has.
import { h } from "../dom";
import { type FormField, type Problem } from "../errors";

export class FormMessages {
  private readonly slots = new Map<FormField, HTMLParagraphElement>();
  private readonly controls = new Map<FormField, HTMLInputElement | HTMLSelectElement>();
  /** The slot for messages about the whole form. */
  readonly general: HTMLParagraphElement;

  /** `testIdPrefix` keeps the slots' test ids apart when several forms are on screen. */
  constructor(generalTestId: string, private readonly testIdPrefix = "") {
    this.general = h("p", { class: "form-error", "data-testid": generalTestId, role: "alert" });
  }

  /**
   * `control` with its label, and a slot for messages about the server's field
   * `about`; `shown` is what goes on screen when it is more than the control
   * (a password box with its "Show" button).
   */
  field(label: string, control: HTMLInputElement | HTMLSelectElement, about?: FormField, className = "field", shown: HTMLElement = control): HTMLDivElement {
    const slot = about ? this.slot(about, control) : undefined;
    return h("div", { class: className }, h("label", { for: control.id }, label), shown, slot);
  }

  show(problem: Problem): void {
    this.clear();
    let placed = 0;
    for (const [field, slot] of this.slots) {
      const message = problem.fields[field];
      if (message) {
        slot.textContent = message;
        this.controls.get(field)?.setAttribute("aria-invalid", "true");
        placed += 1;
      }
    }
    if (placed === 0 || placed < Object.keys(problem.fields).length) this.general.textContent = problem.message;
  }

  clear(): void {
    this.general.textContent = "";
    for (const field of this.slots.keys()) this.clearField(field);
  }

  /** The message slot under `field`'s control, to add to what `show` put there (a link). */
  slotOf(field: FormField): HTMLParagraphElement | undefined {
    return this.slots.get(field);
  }

  /** The first control the last `show` marked invalid, to move focus to. */
  firstInvalid(): HTMLInputElement | HTMLSelectElement | undefined {
    return [...this.controls.values()].find((control) => control.getAttribute("aria-invalid") === "true");
  }

  private clearField(field: FormField): void {
    const slot = this.slots.get(field);
    if (slot) slot.textContent = "";
    this.controls.get(field)?.removeAttribute("aria-invalid");
  }

  private slot(about: FormField, control: HTMLInputElement | HTMLSelectElement): HTMLParagraphElement {
    const slot = h("p", { class: "field-error", id: `${control.id}-error`, "data-testid": `${this.testIdPrefix}${about}-error`, role: "alert" });
    control.setAttribute("aria-describedby", slot.id);
    // A message about what the user has since changed is stale.
    control.addEventListener("input", () => this.clearField(about));
    this.slots.set(about, slot);
    this.controls.set(about, control);
    return slot;
  }
}

/**
 * Runs `work` with `button` marked busy; while it runs, a second click or
 * Enter does nothing instead of sending the request twice. The button stays
 * focusable (aria-disabled, not disabled), so focus is not thrown to the page.
 */
export async function whileBusy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T | undefined> {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  button.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
  }
}

/** A hint under `control` (what a good value looks like), read out with it by screen readers. */
export function hint(control: HTMLInputElement, text: string): HTMLParagraphElement {
  const element = h("p", { class: "hint", id: `${control.id}-hint` }, text);
  control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), element.id].filter(Boolean).join(" "));
  return element;
}

/** A password box with a button that shows what was typed, for forms that do not ask twice. */
export function revealable(input: HTMLInputElement): HTMLDivElement {
  const toggle: HTMLButtonElement = h("button", { type: "button", class: "secondary reveal", "aria-pressed": "false", "aria-controls": input.id, "aria-label": "Show password", onclick: () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    // The name stays "Show password" and the pressed state says whether it is shown.
    toggle.setAttribute("aria-pressed", String(show));
  } }, "Show");
  return h("div", { class: "password" }, input, toggle);
}
