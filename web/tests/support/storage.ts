// An in-memory stand-in for localStorage.
import { type TokenStorage } from "../../src/session";

export function memoryStorage(): TokenStorage {
  const map = new Map<string, string>();
  return { getItem: (key) => map.get(key) ?? null, setItem: (key, value) => void map.set(key, value), removeItem: (key) => void map.delete(key) };
}
