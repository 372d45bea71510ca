// The changes the user makes to tasks from the list, shared by every list on
// the screen (open, completed) because a change moves a task between them:
//
// - Completing goes out at once, with an Undo toast. A task's changes go
//   out one at a time, each on the version (etag) the last one left, so
//   quick toggles never look like a conflict.
// - Deleting hides the task at once and sends the delete when its Undo
//   toast goes (or the page is left): Undo costs nothing. The delete
//   carries the version the user saw, so a task changed on another device
//   meanwhile comes back with a word instead of vanishing unseen.
// - Offline, nothing is sent and the toast says so.
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Api } from "../api";
import { type Connection, OFFLINE_ACTION } from "../connection";
import { describe } from "../errors";
import { type Task, TaskEvent_Kind, TaskSchema } from "../gen/todo/task/v1/task_pb";
import { type Toaster } from "./toast";

export interface TaskChangesOptions {
  tasks: Pick<Api["tasks"], "updateTask" | "deleteTask" | "getTask">;
  connection: Connection;
  toasts: Toaster;
  /** The newest version of a task any list holds. */
  current(id: string): Task | undefined;
  /** A change to place in every list (the server's answer, ahead of its live event). */
  apply(kind: TaskEvent_Kind, task: Task): void;
  /** Draw the lists again (what is hidden or on its way changed). */
  redraw(): void;
  /** A message about one task, shown at its row. */
  rowError(id: string, message: string): void;
  /** Puts focus on a task that came back (Undo of a delete). */
  focusTask(id: string): void;
}

export interface TaskChanges {
  /** What a task's checkbox shows while changes to it are on their way. */
  completing(id: string): boolean | undefined;
  /** Whether a task is deleted, waiting for its Undo toast to go. */
  hidden(id: string): boolean;
  setCompleted(id: string, completed: boolean): void;
  remove(tasks: Task[], message: string): void;
  /** Sends the deletes that wait (the page is being left). */
  flush(): void;
}

export function taskChanges(options: TaskChangesOptions): TaskChanges {
  const { tasks, connection, toasts, current, apply, redraw, rowError } = options;
  const completing = new Map<string, boolean>();
  const queues = new Map<string, Promise<void>>();
  /** Deleted on screen, by id, with the version the user deleted: sent when their toast goes. */
  const waiting = new Map<string, Task>();

  /** Runs a call, and tells the connection whether the backend answered. */
  async function call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      connection.set(false);
      return result;
    } catch (error) {
      if (describe(error).offline) connection.set(true);
      throw error;
    }
  }

  function setCompleted(id: string, completed: boolean, announce = true): void {
    if (connection.offline) {
      toasts.show(OFFLINE_ACTION);
      // The browser ticked the box; the row goes back to the task as it is.
      redraw();
      return;
    }
    completing.set(id, completed);
    redraw();
    const run = (queues.get(id) ?? Promise.resolve()).then(() => send(id, announce));
    queues.set(id, run);
    void run.finally(() => {
      if (queues.get(id) !== run) return;
      queues.delete(id);
      completing.delete(id);
      redraw();
    });
  }

  /** Sends what the checkbox shows now, on top of the version the last change left. */
  async function send(id: string, announce: boolean): Promise<void> {
    const wanted = completing.get(id);
    const task = current(id);
    if (wanted === undefined || !task || task.completed === wanted) return;
    try {
      const { task: saved } = await call(() => tasks.updateTask({
        task: create(TaskSchema, { id, completed: wanted, etag: task.etag }),
        updateMask: create(FieldMaskSchema, { paths: ["completed"] }),
      }));
      if (!saved) return;
      apply(TaskEvent_Kind.UPDATED, saved);
      if (!announce) return;
      toasts.show(`“${saved.title}” ${saved.completed ? "completed" : "marked as not done"}.`, {
        action: { label: "Undo", run: () => setCompleted(id, !saved.completed, false) },
      });
    } catch (error) {
      completing.delete(id);
      failed(id, error, "changed");
    }
  }

  /** Says why a change to task `id` did not happen: offline in a toast, anything else at the row. */
  function failed(id: string, error: unknown, what: "changed" | "deleted"): void {
    redraw();
    if (describe(error).offline) return toasts.show(OFFLINE_ACTION);
    const conflict = error instanceof ConnectError && error.code === Code.Aborted;
    if (conflict) void refresh(id);
    rowError(id, conflict
      ? `This task was changed on another device meanwhile, so it was not ${what}. It now shows that version; try again if you still want to.`
      : describe(error).message);
  }

  /** Shows task `id` as the server has it now (another device changed or deleted it). */
  async function refresh(id: string): Promise<void> {
    try {
      const { task } = await call(() => tasks.getTask({ id }));
      if (task) apply(TaskEvent_Kind.UPDATED, task);
    } catch (error) {
      const gone = current(id);
      if (gone && error instanceof ConnectError && error.code === Code.NotFound) apply(TaskEvent_Kind.DELETED, gone);
    }
  }

  function remove(deleted: Task[], message: string): void {
    if (deleted.length === 0) return;
    if (connection.offline) return toasts.show(OFFLINE_ACTION);
    for (const task of deleted) waiting.set(task.id, task);
    redraw();
    toasts.show(message, {
      action: {
        label: "Undo",
        run() {
          for (const task of deleted) waiting.delete(task.id);
          redraw();
          options.focusTask(deleted[0].id);
        },
      },
      onGone: () => commit(deleted.map((task) => task.id)),
    });
  }

  function commit(ids: string[]): void {
    for (const id of ids) {
      const task = waiting.get(id);
      if (!task) continue;
      call(() => tasks.deleteTask({ id, etag: task.etag })).then(() => {
        waiting.delete(id);
        apply(TaskEvent_Kind.DELETED, task);
      }, (error: unknown) => {
        waiting.delete(id);
        if (error instanceof ConnectError && error.code === Code.NotFound) {
          apply(TaskEvent_Kind.DELETED, task);
          redraw();
        } else failed(id, error, "deleted");
      });
    }
  }

  return {
    completing: (id) => completing.get(id),
    hidden: (id) => waiting.has(id),
    setCompleted: (id, completed) => setCompleted(id, completed),
    remove,
    flush() {
      // The toast's going sends them.
      if (waiting.size > 0) toasts.dismiss();
    },
  };
}
