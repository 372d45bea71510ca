// Labelled form controls with a slot under each for what the server says about
// it, and the one place a Problem is shown in a form: at the fields it names,
// or for the whole form when it names none this form has.
import { h } from "../dom";
import { type FormField, type Problem } from "../errors";

export class FormMessages {
  private readonly slots = new Map<FormField, HTMLParagraphElement>();
  /** The slot for messages about the whole form. */
  readonly general: HTMLParagraphElement;

  /** `testIdPrefix` keeps the slots' test ids apart when several forms are on screen. */
  constructor(generalTestId: string, private readonly testIdPrefix = "") {
    this.general = h("p", { class: "form-error", "data-testid": generalTestId, role: "alert" });
  }

  /** `control` with its label, and a slot for messages about the server's field `about`. */
  field(label: string, control: HTMLInputElement | HTMLSelectElement, about?: FormField, className = "field"): HTMLDivElement {
    const slot = about ? this.slot(about, control) : undefined;
    return h("div", { class: className }, h("label", { for: control.id }, label), control, slot);
  }

  show(problem: Problem): void {
    this.clear();
    let placed = 0;
    for (const [field, slot] of this.slots) {
      const message = problem.fields[field];
      if (message) {
        slot.textContent = message;
        placed += 1;
      }
    }
    if (placed === 0 || placed < Object.keys(problem.fields).length) this.general.textContent = problem.message;
  }

  clear(): void {
    this.general.textContent = "";
    for (const slot of this.slots.values()) slot.textContent = "";
  }

  private slot(about: FormField, control: HTMLInputElement | HTMLSelectElement): HTMLParagraphElement {
    const slot = h("p", { class: "field-error", id: `${control.id}-error`, "data-testid": `${this.testIdPrefix}${about}-error`, role: "alert" });
    control.setAttribute("aria-describedby", slot.id);
    this.slots.set(about, slot);
    return slot;
  }
}
