// The banner that asks an unverified user to confirm their email, with a
// button that sends a fresh link. It asks the server whether the address is
// verified when it is shown, and again when another tab of this browser says
// it verified (the link is often opened in a new tab) or this tab comes back
// into view (it may have been verified on another device).
import { type Api } from "../api";
import { h } from "../dom";
import { describe } from "../errors";
import { whileBusy } from "./form";

export interface VerifyBanner {
  element: HTMLElement;
  /** Asks the server and shows the banner only for an unverified address. */
  check(): Promise<void>;
  /** Stops listening to other tabs and to visibility. */
  stop(): void;
}

/** The storage key a tab writes when it verified the address, so the others look again. */
const VERIFIED_KEY = "todo.email-verified";

/** Tells this browser's other tabs that the address was just verified. */
export function announceVerified(storage: Pick<Storage, "setItem">): void {
  storage.setItem(VERIFIED_KEY, String(Date.now()));
}

export function verifyBanner({ auth }: { auth: Pick<Api["auth"], "getCurrentUser" | "sendVerificationEmail"> }): VerifyBanner {
  const address = h("strong", { "data-testid": "verify-address" });
  const status = h("p", { class: "status", role: "status", "data-testid": "verify-banner-status" });
  // A button that reads as a link in the sentence, so the banner stays one short paragraph on a phone.
  const resend = h("button", { type: "button", class: "link", "data-testid": "resend-verification" }, "Send a new link");
  const element = h("section", { class: "banner verify", "aria-label": "Email verification", "data-testid": "verify-banner", hidden: true },
    h("p", {}, "Please confirm your email address ", address, ": open the link we emailed you. ", resend),
    status);
  let stopped = false;

  resend.addEventListener("click", () => void whileBusy(resend, async () => {
    status.textContent = "";
    try {
      await auth.sendVerificationEmail({});
      status.textContent = "Sent. Check your inbox for a new link; earlier links no longer work.";
    } catch (error) {
      status.textContent = describe(error, "account").message;
      // "Already verified" (on another device, say): the banner has outlived its reason.
      await check();
    }
  }));

  async function check(): Promise<void> {
    try {
      const { user } = await auth.getCurrentUser({});
      if (stopped || !user) return;
      address.textContent = user.email;
      element.hidden = user.emailVerified;
    } catch {
      // Offline, or the session ended (the app handles that): keep the banner as it is.
    }
  }

  const onStorage = (event: StorageEvent) => {
    if (event.key === VERIFIED_KEY) void check();
  };
  const onVisible = () => {
    if (document.visibilityState === "visible" && !element.hidden) void check();
  };
  window.addEventListener("storage", onStorage);
  document.addEventListener("visibilitychange", onVisible);

  return {
    element,
    check,
    stop() {
      stopped = true;
      window.removeEventListener("storage", onStorage);
      document.removeEventListener("visibilitychange", onVisible);
    },
  };
}
