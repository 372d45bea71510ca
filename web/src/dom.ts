// The one DOM helper the views are written with: `h` builds an element of the
// type its tag names, so views need no casts to reach `.value` or `.checked`.

/** Attribute values: `on…` names take listeners; `true` sets an empty attribute, `false`/`undefined` none. */
export type Attributes = Record<string, string | boolean | undefined | ((event: Event) => void)>;

export type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (on* become listeners) and children. */
export function h<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[Tag] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children) if (child != null && child !== false) element.append(child);
  return element;
}
