// Keeps a WatchTasks stream open: reconnects with exponential backoff when it
// drops, and asks for a re-sync each time it is back (events may have been missed).
import { type TaskEvent } from "./gen/todo/task/v1/task_pb";
import { bearer, session, tasks } from "./api";

export interface WatchHandlers {
  onEvent(event: TaskEvent): void;
  /** The stream is (re)connected: re-list to catch up on what was missed. */
  onConnected(): void;
  onDisconnected(): void;
}

export function watchTasks(handlers: WatchHandlers): () => void {
  const controller = new AbortController();
  let delay = 500;
  (async () => {
    while (!controller.signal.aborted) {
      try {
        const token = await session.accessToken();
        if (!token) return;
        const stream = tasks.watchTasks({}, { ...bearer(token), signal: controller.signal, timeoutMs: 0 });
        handlers.onConnected();
        delay = 500;
        for await (const message of stream) {
          if (message.event) handlers.onEvent(message.event);
        }
      } catch {
        if (controller.signal.aborted) return;
        // A refused token is refreshed before the next attempt.
        await session.refresh().catch(() => undefined);
      }
      if (controller.signal.aborted) return;
      handlers.onDisconnected();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => controller.abort();
}
