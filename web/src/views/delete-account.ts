// Delete account: a button that opens a dialog saying what goes (the account
// and every task, for good) and asking for the password. Escape or Cancel
// closes it and puts focus back on the button.
import { type Api } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { FormMessages, whileBusy } from "./form";

export interface DeleteAccountOptions {
  api: { auth: Pick<Api["auth"], "deleteAccount">; tasks: Pick<Api["tasks"], "listTasks"> };
  email: string;
  /** The account is gone and every token of it refused: leave. */
  onDeleted(): void;
}

export function deleteAccountSection({ api, email, onDeleted }: DeleteAccountOptions): HTMLElement {
  const messages = new FormMessages("delete-account-error", "delete-");
  const open = h("button", { type: "button", class: "danger", "data-testid": "delete-account" }, "Delete account…");
  const password = h("input", { id: "delete-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const username = h("input", { type: "email", name: "username", autocomplete: "username", value: email, hidden: true, readonly: true });
  const consequence = h("p", { id: "delete-consequence", "data-testid": "delete-consequence" }, consequenceText(email, undefined));
  const confirm = h("button", { type: "submit", class: "danger solid", "data-testid": "confirm-delete-account" }, "Delete my account and tasks");
  const cancel = h("button", { type: "button", class: "secondary", "data-testid": "cancel-delete-account" }, "Cancel");
  const form = h("form", { novalidate: true, class: "stack" },
    h("h2", { id: "delete-heading" }, "Delete your account?"),
    consequence,
    username,
    messages.field("Your password, to confirm", password, "password"),
    messages.general,
    h("div", { class: "actions" }, confirm, cancel));
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": "delete-heading", "aria-describedby": consequence.id, "data-testid": "delete-dialog" }, form);
  let deleting = false;

  open.addEventListener("click", () => {
    messages.clear();
    password.value = "";
    consequence.textContent = consequenceText(email, undefined);
    dialog.showModal();
    password.focus();
    // How many tasks go, so "all your tasks" is concrete; the dialog works without it.
    api.tasks.listTasks({ pageSize: 1 }).then((page) => {
      if (dialog.open) consequence.textContent = consequenceText(email, page.totalSize);
    }, () => undefined);
  });
  cancel.addEventListener("click", () => dialog.close());
  // Escape closes the dialog (the browser's "cancel"), except while the deletion is on its way.
  dialog.addEventListener("cancel", (event) => {
    if (deleting) event.preventDefault();
  });
  dialog.addEventListener("close", () => {
    password.value = "";
    if (open.isConnected) open.focus();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(confirm, async () => {
      messages.clear();
      if (!password.value) {
        messages.show({ message: "", fields: { password: "Enter your password to confirm." }, offline: false });
        password.focus();
        return;
      }
      deleting = true;
      try {
        await api.auth.deleteAccount({ password: password.value });
      } catch (error) {
        messages.show(describe(error, "account"));
        password.focus();
        return;
      } finally {
        deleting = false;
      }
      dialog.close();
      onDeleted();
    });
  });

  return h("section", { class: "card section danger-zone", "aria-labelledby": "delete-section-heading" },
    h("h2", { id: "delete-section-heading" }, "Delete account"),
    h("p", {}, "Deleting your account removes it and all of your tasks, for good. It cannot be undone."),
    h("div", { class: "actions" }, open),
    dialog);
}

/** What deleting takes away, as concretely as is known. */
export function consequenceText(email: string, tasks: number | undefined): string {
  const what = tasks === undefined ? "and all of your tasks"
    : tasks === 0 ? "(you have no tasks)"
    : tasks === 1 ? "and your 1 task"
    : `and all ${tasks} of your tasks`;
  return `This deletes the account ${email} ${what}, for good. It cannot be undone, and you will be signed out.`;
}
