// Turns gRPC errors into what a person reads, and says which form field a
// message belongs next to (the server names it: "email: ...", "password: ...").
import { Code, ConnectError } from "@connectrpc/connect";

export interface Problem {
  /** The form field the message belongs to, or undefined for a general message. */
  field?: string;
  message: string;
  /** The backend is unreachable: show a calm "reconnecting" state, not an error. */
  offline?: boolean;
}

/** Field names as the server writes them, mapped to the form's field names. */
const FIELDS: Record<string, string> = {
  email: "email",
  password: "password",
  new_password: "new_password",
  current_password: "current_password",
  "task.title": "title",
  "task.description": "description",
  "task.tags": "tags",
  "task.due_time": "due",
};

export function describe(error: unknown, context: "login" | "signup" | "task" = "task"): Problem {
  if (!(error instanceof ConnectError)) {
    return { message: "Something went wrong. Please try again." };
  }
  const message = error.rawMessage;
  switch (error.code) {
    case Code.InvalidArgument: {
      const colon = message.indexOf(":");
      const name = colon > 0 ? message.slice(0, colon) : "";
      const field = FIELDS[name];
      const text = colon > 0 ? message.slice(colon + 1).trim() : message;
      return field ? { field, message: capitalize(text) } : { message: capitalize(message) };
    }
    case Code.AlreadyExists:
      return { field: "email", message: "An account with this email already exists. Sign in instead?" };
    case Code.Unauthenticated:
      return context === "login"
        ? { field: "password", message: "Wrong email or password." }
        : { message: "Your session has ended. Please sign in again." };
    case Code.ResourceExhausted:
      return { field: context === "task" ? undefined : "password", message: `Too many attempts: ${message.replace(/^too many failed logins for this email; /, "")}.` };
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return { message: "Reconnecting…", offline: true };
    case Code.Aborted:
      return { message: "Someone else changed this task meanwhile." };
    case Code.NotFound:
      return { message: "This task no longer exists." };
    default:
      return { message: "Something went wrong on our side. Please try again." };
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
